/**
 * The addon's TCP streams and acceptor against real sockets on loopback,
 * with node:net playing the peer: reading, writing past what the kernel
 * takes, pausing, half-closing, closing, and connecting (including a
 * refused connect).
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  acceptTcpStreams,
  connectTcpStream,
  openTcpStream,
  TcpStreamEvent,
  type NativeTcpStreamHandle,
} from '@dnsdist-ts/dataplane/io/native-tcp-stream.js';
import { loadNativeUdpAddon, nativeUdpAddonPath, nativeUdpAvailable } from '@dnsdist-ts/dataplane/io/native-udp-addon.js';
import { describeRequires, requirement } from '../../../../test/support/require.js';

const native = requirement("the proxy's native addon", 'bpf', () => (nativeUdpAvailable() ? undefined : "it is not built ('make native')"));

const LOOP4 = new Uint8Array(16);
LOOP4.set([127, 0, 0, 1]);

/** Events of one stream, recorded; data copied out of the shared read buffer as it comes. */
class Recorder {
  readonly data: Buffer[] = [];
  readonly events: number[] = [];
  closedWith: number | undefined;
  /** Whatever the test lets the recorder hold. */
  owned: unknown;
  readonly #waiters: Array<() => void> = [];

  constructor(readonly readBuffer: Buffer) {}

  readonly listener = (kind: number, n: number): void => {
    this.events.push(kind);
    if (kind === TcpStreamEvent.data) this.data.push(Buffer.from(this.readBuffer.subarray(0, n)));
    if (kind === TcpStreamEvent.closed) this.closedWith = n;
    for (const w of this.#waiters.splice(0)) w();
  };

  received(): Buffer {
    return Buffer.concat(this.data);
  }

  /** Resolve once `pred` holds, checked after every event. */
  until(pred: () => boolean): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (pred()) resolve();
        else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }
}

/** A native listener on an ephemeral loopback port: accepted fds become streams recorded by `recorders`. */
function nativeListener(): {
  port: number;
  accepted: Array<{ stream: NativeTcpStreamHandle; rec: Recorder }>;
  next: () => Promise<{ stream: NativeTcpStreamHandle; rec: Recorder }>;
  close: () => void;
} {
  const addon = loadNativeUdpAddon();
  const { fd, port } = addon.openTcpListener({ family: 4, address: LOOP4, port: 0, reusePort: false, backlog: 16 });
  const accepted: Array<{ stream: NativeTcpStreamHandle; rec: Recorder }> = [];
  const waiting: Array<(c: { stream: NativeTcpStreamHandle; rec: Recorder }) => void> = [];
  const acceptor = acceptTcpStreams(
    fd,
    (conn) => {
      const rec = new Recorder(Buffer.alloc(4096));
      const c = { stream: openTcpStream(conn, rec.readBuffer, rec.listener), rec };
      accepted.push(c);
      waiting.shift()?.(c);
    },
    () => {},
  );
  return {
    port,
    accepted,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: () => {
      acceptor.close();
      for (const c of accepted) c.stream.close();
      // The listening fd is the test's: a net.Server adopts it only to close it.
      const srv = new net.Server();
      srv.listen({ fd }, () => srv.close());
    },
  };
}

describeRequires('native TCP streams', native, () => {
  it('reads what the peer sends and writes back, with both ends’ addresses', async () => {
    const l = nativeListener();
    try {
      const client = net.connect({ host: '127.0.0.1', port: l.port });
      const { stream, rec } = await l.next();
      await once(client, 'connect');
      client.write('hello');
      await rec.until(() => rec.received().length >= 5);
      expect(rec.received().toString()).toBe('hello');
      const addrs = stream.addresses()!;
      expect(addrs.family).toBe(4);
      expect([...addrs.peer.subarray(0, 4)]).toEqual([127, 0, 0, 1]);
      expect(addrs.peerPort).toBe(client.localPort);
      expect(addrs.localPort).toBe(l.port);
      const reply = Buffer.from('world');
      expect(stream.write(reply, 0, reply.length)).toBe(0);
      const [got] = (await once(client, 'data')) as [Buffer];
      expect(got.toString()).toBe('world');
      client.destroy();
    } finally {
      l.close();
    }
  });

  it('queues what the kernel does not take and sends it, in order, once the peer reads', async () => {
    const l = nativeListener();
    try {
      const client = net.connect({ host: '127.0.0.1', port: l.port });
      client.pause();
      const { stream, rec } = await l.next();
      const big = Buffer.alloc(16 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4) big.writeUInt32BE(i, i);
      const queued = stream.write(big, 0, big.length);
      // 16 MiB is more than loopback's socket buffers hold while the peer reads nothing.
      expect(queued).toBeGreaterThan(0);
      expect(stream.queued()).toBe(queued);
      // A second write lands behind the queue, never before it.
      const tail = Buffer.from('tail');
      expect(stream.write(tail, 0, tail.length)).toBe(queued + tail.length);
      const chunks: Buffer[] = [];
      let total = 0;
      client.on('data', (c: Buffer) => {
        chunks.push(c);
        total += c.length;
      });
      client.resume();
      await rec.until(() => rec.events.includes(TcpStreamEvent.drained));
      expect(stream.queued()).toBe(0);
      while (total < big.length + tail.length) await once(client, 'data');
      const all = Buffer.concat(chunks);
      expect(all.subarray(0, big.length).equals(big)).toBe(true);
      expect(all.subarray(big.length).toString()).toBe('tail');
      client.destroy();
    } finally {
      l.close();
    }
  });

  it('stops reading while paused and reads what waited once resumed', async () => {
    const l = nativeListener();
    try {
      const client = net.connect({ host: '127.0.0.1', port: l.port });
      const { stream, rec } = await l.next();
      stream.setReading(false);
      await once(client, 'connect');
      client.write('one');
      // The peer's bytes reach our kernel buffer; a round trip on the same connection shows they have.
      const probe = Buffer.from('ping');
      stream.write(probe, 0, probe.length);
      await once(client, 'data');
      await new Promise((r) => setImmediate(r));
      expect(rec.data).toHaveLength(0);
      stream.setReading(true);
      await rec.until(() => rec.received().length >= 3);
      expect(rec.received().toString()).toBe('one');
      client.destroy();
    } finally {
      l.close();
    }
  });

  it('reports the peer’s end of stream as closed with 0, and shutdown() ends our side after the queue', async () => {
    const l = nativeListener();
    try {
      const client = net.connect({ host: '127.0.0.1', port: l.port, allowHalfOpen: true });
      const { stream, rec } = await l.next();
      const bye = Buffer.from('bye');
      stream.write(bye, 0, bye.length);
      stream.shutdown();
      const got: Buffer[] = [];
      client.on('data', (c: Buffer) => got.push(c));
      await once(client, 'end');
      expect(Buffer.concat(got).toString()).toBe('bye');
      client.end();
      await rec.until(() => rec.closedWith !== undefined);
      expect(rec.closedWith).toBe(0);
      expect(rec.events.at(-1)).toBe(TcpStreamEvent.closed);
      expect(stream.write(bye, 0, bye.length)).toBeLessThan(0);
    } finally {
      l.close();
    }
  });

  it('close() closes the connection at once and reports nothing after', async () => {
    const l = nativeListener();
    try {
      const client = net.connect({ host: '127.0.0.1', port: l.port });
      const { stream, rec } = await l.next();
      await once(client, 'connect');
      stream.close();
      await once(client, 'close');
      expect(rec.events).toEqual([]);
      expect(stream.addresses()).toBeUndefined();
    } finally {
      l.close();
    }
  });

  it('connects, sends what was written before the connect finished, and hears the server close', async () => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const accepted = once(server, 'connection');
    try {
      const rec = new Recorder(Buffer.alloc(4096));
      const stream = connectTcpStream(4, LOOP4, port, rec.readBuffer, rec.listener);
      const early = Buffer.from('early');
      // Before the connect completes the bytes wait in the stream's queue.
      expect(stream.write(early, 0, early.length)).toBe(early.length);
      const [sock] = (await accepted) as [net.Socket];
      const [got] = (await once(sock, 'data')) as [Buffer];
      expect(got.toString()).toBe('early');
      expect(rec.events[0]).toBe(TcpStreamEvent.connected);
      sock.end('answer');
      await rec.until(() => rec.closedWith !== undefined);
      expect(rec.received().toString()).toBe('answer');
      expect(rec.closedWith).toBe(0);
    } finally {
      server.close();
    }
  });

  it('lets a closed stream and what its callback closes over be collected', async () => {
    // The addon holds the callback strongly while the stream is open; kept after close, it would
    // keep the stream and whatever the callback closes over (a whole client connection) forever.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const l = nativeListener();
    const refs: Array<WeakRef<object>> = [];
    try {
      // In a function of its own: a suspended async function may keep its last locals alive.
      const openAndClose = async (byPeer: boolean): Promise<void> => {
        const client = net.connect({ host: '127.0.0.1', port: l.port });
        client.on('error', () => {});
        const { stream, rec } = await l.next();
        // The stream's callback closes over `rec`, and `rec` holds the stream: a cycle, as in the proxy.
        rec.owned = stream;
        refs.push(new WeakRef(rec), new WeakRef(stream));
        if (byPeer) {
          // Its closed event is then the last callback.
          client.destroy();
          await rec.until(() => rec.closedWith !== undefined);
        } else stream.close();
        client.destroy();
      };
      await openAndClose(false);
      await openAndClose(true);
      l.accepted.length = 0;
      for (let i = 0; i < 5 && refs.some((r) => r.deref() !== undefined); i++) {
        await new Promise((r) => setImmediate(r));
        gc();
      }
      expect(refs.map((r) => r.deref() === undefined)).toEqual([true, true, true, true]);
    } finally {
      l.close();
    }
  });

  it('reports a refused connect as closed with ECONNREFUSED', async () => {
    // A port nothing listens on: bind one and close it.
    const s = net.createServer().listen(0, '127.0.0.1');
    await once(s, 'listening');
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((r) => s.close(r));
    const rec = new Recorder(Buffer.alloc(64));
    connectTcpStream(4, LOOP4, port, rec.readBuffer, rec.listener);
    await rec.until(() => rec.closedWith !== undefined);
    expect(rec.closedWith).toBe(111); // ECONNREFUSED on Linux
    expect(rec.events).toEqual([TcpStreamEvent.closed]);
  });

  it('lets a worker thread that loaded the addon exit with its streams and sockets still open (the process lives on)', async () => {
    // In a child process whose main thread never loads the addon: Node unloads a worker's addons
    // when the worker's environment goes, before the worker's loop runs the close callbacks of the
    // handles its finalizers closed. The addon must stay mapped for those (it pins itself).
    const worker = `
      const { parentPort } = require('node:worker_threads');
      const net = require('node:net');
      const addon = require(${JSON.stringify(nativeUdpAddonPath)});
      const loop4 = new Uint8Array(16); loop4.set([127, 0, 0, 1]);
      const server = net.createServer(() => {}).listen(0, '127.0.0.1', () => {
        const fd = addon.connectTcp(4, loop4, server.address().port);
        const stream = new addon.TcpStream(fd, new Uint8Array(512), (kind) => {
          if (kind === 2) parentPort.postMessage('connected');
        }, true);
        globalThis.kept = stream;
        const listener = addon.openTcpListener({ family: 4, address: loop4, port: 0, reusePort: false, backlog: 8 });
        globalThis.acceptor = new addon.TcpAcceptor(listener.fd, () => {});
      });
    `;
    const main = `
      const { Worker } = require('node:worker_threads');
      const w = new Worker(${JSON.stringify(worker)}, { eval: true });
      w.once('message', () => w.terminate());
      w.once('exit', () => console.log('the process outlived its worker'));
    `;
    const out = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['-e', main], { encoding: 'utf8', timeout: 20_000 }, (_err, stdout, stderr) =>
        resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr }),
      );
    });
    expect(out).toEqual({ code: 0, signal: null, stdout: 'the process outlived its worker\n', stderr: '' });
  });
});
