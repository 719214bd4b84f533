/**
 * The names under which a data-plane worker's listening sockets are kept
 * for the worker started in its place (pure logic: the fds here are this
 * process's own sockets, not a worker's).
 */
import { createSocket } from 'node:dgram';
import { fstatSync } from 'node:fs';
import { HeldListeningSockets, WorkerSocketHandover } from '@dnsdist-ts/workers/workers/worker-socket-handover.js';

describe('WorkerSocketHandover', () => {
  it('names listeners by kind, address, port and rank, sends new ones, and gives them back to the next worker in the slot', () => {
    const sent: Array<[string, number]> = [];
    const first = new WorkerSocketHandover([], (name, fd) => sent.push([name, fd]));
    const held = new HeldListeningSockets(2);
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1');
    return new Promise<void>((resolve) => s.once('listening', resolve)).then(() => {
      try {
        const fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
        expect(first.take('udp', '127.0.0.1', 0)).toBeUndefined();
        first.bound('udp', '127.0.0.1', 5300, fd);
        first.bound('udp', '127.0.0.1', 5300, fd);
        first.bound('tcp', '127.0.0.1', 5300, fd);
        expect(sent.map(([n]) => n)).toEqual(['udp 127.0.0.1 5300 #0', 'udp 127.0.0.1 5300 #1', 'tcp 127.0.0.1 5300 #0']);
        // Each fd sent is a duplicate, the control plane's to keep.
        for (const [, dup] of sent) expect(dup).not.toBe(fd);
        for (const [name, dup] of sent) held.keep(1, name, dup);
        expect(held.inherited(0)).toEqual([]);

        const next = new WorkerSocketHandover(held.inherited(1), () => {
          throw new Error('a socket taken over is already kept');
        });
        expect(next.take('udp', '127.0.0.1', 5300)).toBe(sent[0]![1]);
        next.bound('udp', '127.0.0.1', 5300, fd);
        expect(next.take('udp', '127.0.0.1', 5300)).toBe(sent[1]![1]);
        next.bound('udp', '127.0.0.1', 5300, fd);
        expect(next.take('udp', '127.0.0.1', 5300)).toBeUndefined();
        expect(next.take('tcp', '127.0.0.1', 5300)).toBe(sent[2]![1]);

        held.release(1);
        expect(held.inherited(1)).toEqual([]);
        for (const [, dup] of sent) expect(() => fstatSync(dup)).toThrow(/EBADF/);
      } finally {
        held.closeAll();
        s.close();
      }
    });
  });
});
