import { createSocket, type Socket } from 'node:dgram';
import { createServer, connect, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BpfObject, BpfMap, attachSocketFilter, detachSocketFilter, socketFd, type BpfProgram } from '@dnsdist-ts/bpf';
import { describeBpf } from '../../../test/support/require-bpf.js';

const fixture = fileURLToPath(new URL('./fixtures/xdp-drop-src.bpf.o', import.meta.url));
const key = (addr: string) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0));
  return b;
};

async function sendFrom(src: string, port: number, count: number): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, src, r));
  for (let i = 0; i < count; i++) await new Promise<void>((r) => s.send(`m${i}`, port, '127.0.0.1', () => r()));
  s.close();
}

describeBpf('socket filters on Node sockets', () => {
  let obj: BpfObject;
  let prog: BpfProgram;
  let blocked: BpfMap;
  beforeAll(() => {
    obj = BpfObject.open(fixture).load();
    prog = obj.program('sock_drop_src');
    blocked = obj.map('blocked_v4');
    blocked.update(key('127.0.0.2'), Buffer.alloc(8));
  });
  afterAll(() => {
    blocked?.close();
    obj?.close();
  });

  it('a dgram socket drops datagrams from a blocked source while others arrive; detach restores them', async () => {
    const sock: Socket = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const port = sock.address().port;
    attachSocketFilter(sock, prog);
    const got = new Map<string, number>();
    let waiter: { addr: string; n: number; resolve: () => void } | undefined;
    sock.on('message', (_m, rinfo) => {
      got.set(rinfo.address, (got.get(rinfo.address) ?? 0) + 1);
      if (waiter && got.get(waiter.addr) === waiter.n) waiter.resolve();
    });
    const until = (addr: string, n: number) => new Promise<void>((resolve) => (waiter = { addr, n, resolve }));
    try {
      const done = until('127.0.0.3', 20);
      await sendFrom('127.0.0.2', port, 20);
      await sendFrom('127.0.0.3', port, 20);
      await done;
      expect(got.get('127.0.0.2')).toBeUndefined();
      expect(blocked.lookup(key('127.0.0.2'))!.readBigUInt64LE()).toBe(20n);

      detachSocketFilter(sock);
      const after = until('127.0.0.2', 5);
      await sendFrom('127.0.0.2', port, 5);
      await after;
      expect(got.get('127.0.0.2')).toBe(5);
    } finally {
      sock.close();
    }
  });

  it('a listening net.Server accepts filters; allowed clients still connect', async () => {
    const server: Server = createServer((c) => c.end('hi'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      attachSocketFilter(server, prog);
      const reply = await new Promise<string>((resolve, reject) => {
        const c = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.3' });
        let data = '';
        c.on('data', (d) => (data += d.toString()));
        c.on('end', () => resolve(data));
        c.on('error', reject);
      });
      expect(reply).toBe('hi');
      detachSocketFilter(server);
    } finally {
      server.close();
    }
  });

  it('refuses sockets that have no descriptor yet, with a clear message', () => {
    const s = createSocket('udp4');
    expect(() => socketFd(s)).toThrow(/bind the dgram socket or start listening first/);
    s.close();
  });
});
