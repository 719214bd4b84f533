/**
 * The native UDP endpoint against real sockets on loopback: Node's dgram
 * sockets play the clients. Two behaviours need a process of their own
 * (a full send buffer, and a throwing handler surfacing as an uncaught
 * exception); they run a small script under tsx.
 */
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { attachSocketFilter, BpfObject } from '@dnsdist-ts/bpf';
import { AddressParseError } from '@dnsdist-ts/dns';
import { describeBpf } from '../../../../test/support/require-bpf.js';
import { describeRequires, itRequires, requirement } from '../../../../test/support/require.js';
import { loopbackShaping } from '../../../../test/support/requirements.js';
import {
  createNativeUdpEndpoint,
  nativeUdpAvailable,
  NativeUdpBindError,
  NativeUdpOptionError,
  type NativeUdpEndpoint,
  type NativeUdpEndpointTuning,
} from '@dnsdist-ts/dataplane/io/native-udp-endpoint.js';
import { nativeUdpAddonPath } from '@dnsdist-ts/dataplane/io/native-udp-addon.js';
import type { UdpEndpointOptions } from '@dnsdist-ts/dataplane/io/udp-endpoint.js';
import { waitFor } from '../support/dns-client.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const endpointModule = fileURLToPath(new URL('../../../dataplane/src/io/native-udp-endpoint.ts', import.meta.url));
const sockDropFixture = fileURLToPath(new URL('../../../bpf/test/fixtures/xdp-drop-src.bpf.o', import.meta.url));
const LOOP4 = Uint8Array.of(127, 0, 0, 1);
const LOOP6 = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
const MAPPED_LOOP4 = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1);

const nativeUdp = requirement("the proxy's UDP addon", 'bpf', () => (nativeUdpAvailable() ? undefined : "it is not built ('make native')"));
const describeNative = (name: string, fn: () => void): void => describeRequires(name, nativeUdp, fn);

/** A dgram client that records what it receives, with a way to wait for the n-th datagram. */
interface Client {
  socket: Socket;
  port: number;
  received: Buffer[];
  waitFor(n: number): Promise<Buffer[]>;
  send(data: Uint8Array | string, port: number, address: string): Promise<void>;
}

describeNative('NativeUdpEndpoint', () => {
  const endpoints: NativeUdpEndpoint[] = [];
  const sockets: Socket[] = [];

  function endpoint(options: Partial<UdpEndpointOptions> = {}, tuning?: NativeUdpEndpointTuning): NativeUdpEndpoint {
    const ep = createNativeUdpEndpoint({ address: '127.0.0.1', port: 0, ...options }, tuning);
    endpoints.push(ep);
    return ep;
  }

  function echo(ep: NativeUdpEndpoint): void {
    ep.onDatagram((data, length, from, fromPort) => ep.send(data, length, from, fromPort));
  }

  async function client(type: 'udp4' | 'udp6' = 'udp4', address = type === 'udp4' ? '127.0.0.1' : '::1'): Promise<Client> {
    const socket = createSocket(type);
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, resolve);
    });
    const received: Buffer[] = [];
    let waiter: { n: number; resolve: (r: Buffer[]) => void } | undefined;
    socket.on('message', (m) => {
      received.push(m);
      if (waiter && received.length >= waiter.n) waiter.resolve(received);
    });
    return {
      socket,
      port: socket.address().port,
      received,
      // The timer only turns a lost datagram into a readable failure instead of a test timeout.
      waitFor: (n) =>
        received.length >= n
          ? Promise.resolve(received)
          : new Promise((resolve, reject) => {
              const timer = setTimeout(() => reject(new Error(`received ${received.length} of ${n} datagrams`)), 5000);
              waiter = { n, resolve: (r) => (clearTimeout(timer), resolve(r)) };
            }),
      send: (data, port, to) => new Promise((resolve, reject) => socket.send(data, port, to, (err) => (err ? reject(err) : resolve()))),
    };
  }

  afterEach(async () => {
    await Promise.all(endpoints.splice(0).map((ep) => ep.close()));
    for (const s of sockets.splice(0)) s.close();
  });

  it('echoes datagrams to several dgram clients and reports the peer as 4 bytes and a port', async () => {
    const ep = endpoint();
    expect(ep.kind).toBe('native');
    expect(ep.localAddress).toBe('127.0.0.1');
    expect(ep.localPort).toBeGreaterThan(0);
    const peers: string[] = [];
    ep.onDatagram((data, length, from, fromPort) => {
      peers.push(`${Array.from(from).join('.')}:${fromPort}`);
      ep.send(data, length, from, fromPort);
    });
    const clients = await Promise.all([client(), client(), client()]);
    await Promise.all(clients.map((c, i) => c.send(`query ${i}`, ep.localPort, '127.0.0.1')));
    const answers = await Promise.all(clients.map((c) => c.waitFor(1)));
    expect(answers.map((a) => a[0]!.toString())).toEqual(['query 0', 'query 1', 'query 2']);
    expect(peers.sort()).toEqual(clients.map((c) => `127.0.0.1:${c.port}`).sort());
    expect(ep.datagrams).toBe(3);
    expect(ep.sent).toBe(3);
    expect(ep.sendErrors).toBe(0);
  });

  it('reads a burst in batches, answers it in batched sends, and reuses its views instead of allocating', async () => {
    const N = 300;
    const ep = endpoint({ receiveBufferSize: 1 << 20 });
    const c = await client();
    c.socket.setRecvBufferSize(1 << 20);
    // Queue the whole burst before receiving starts, so recvmmsg finds many at once.
    for (let i = 0; i < N; i++) await c.send(`burst ${i}`, ep.localPort, '127.0.0.1');
    const dataViews = new Set<Buffer>();
    const fromViews = new Set<Uint8Array>();
    ep.onDatagram((data, length, from, fromPort) => {
      dataViews.add(data);
      fromViews.add(from);
      ep.send(data, length, from, fromPort);
    });
    const answers = await c.waitFor(N);
    expect(new Set(answers.map((a) => a.toString()))).toEqual(new Set(Array.from({ length: N }, (_, i) => `burst ${i}`)));
    expect(ep.datagrams).toBe(N);
    expect(ep.batches).toBeGreaterThanOrEqual(Math.ceil(N / ep.batchSize));
    expect(ep.batches).toBeLessThan(N / 4);
    expect(ep.sent).toBe(N);
    expect(ep.sendCalls).toBeLessThan(N / 4);
    expect(dataViews.size).toBeLessThanOrEqual(ep.batchSize);
    expect(fromViews.size).toBeLessThanOrEqual(ep.batchSize);
  });

  it('keeps draining across event-loop turns when a burst exceeds what one wakeup reads', async () => {
    // 2 per recvmmsg and 16 recvmmsg per wakeup: 200 datagrams need several wakeups.
    const N = 200;
    const ep = endpoint({ receiveBufferSize: 1 << 20 }, { batchSize: 2 });
    const c = await client();
    c.socket.setRecvBufferSize(1 << 20);
    for (let i = 0; i < N; i++) await c.send(`b${i}`, ep.localPort, '127.0.0.1');
    let turnsSeen = 0;
    const countTurns = (): void => {
      turnsSeen++;
      if (ep.datagrams < N) setImmediate(countTurns);
    };
    echo(ep);
    setImmediate(countTurns);
    await c.waitFor(N);
    expect(ep.datagrams).toBe(N);
    expect(ep.batches).toBeGreaterThanOrEqual(N / 2);
    // setImmediate callbacks ran in between: the socket did not hog the loop.
    expect(turnsSeen).toBeGreaterThan(1);
  });

  it('serves IPv6 peers with 16-byte addresses on ::1', async () => {
    const ep = endpoint({ address: '::1' });
    expect(ep.localAddress).toBe('::1');
    let seen: Uint8Array | undefined;
    ep.onDatagram((data, length, from, fromPort) => {
      seen = Uint8Array.from(from);
      ep.send(data, length, from, fromPort);
    });
    const c = await client('udp6');
    await c.send('over six', ep.localPort, '::1');
    expect((await c.waitFor(1))[0]!.toString()).toBe('over six');
    expect(seen).toEqual(LOOP6);
  });

  it('on the "::" wildcard serves both families, unmapping IPv4-mapped peers to 4 bytes', async () => {
    const ep = endpoint({ address: '::' });
    expect(ep.localAddress).toBe('::');
    const seen: number[] = [];
    ep.onDatagram((data, length, from, fromPort) => {
      seen.push(from.length);
      if (from.length === 4) expect(Array.from(from)).toEqual([127, 0, 0, 1]);
      ep.send(data, length, from, fromPort);
    });
    const [c4, c6] = await Promise.all([client('udp4'), client('udp6')]);
    await c4.send('v4 via dual stack', ep.localPort, '127.0.0.1');
    await c6.send('v6', ep.localPort, '::1');
    expect((await c4.waitFor(1))[0]!.toString()).toBe('v4 via dual stack');
    expect((await c6.waitFor(1))[0]!.toString()).toBe('v6');
    expect(seen.sort()).toEqual([16, 4]);
  });

  it('sends to IPv4-mapped destinations from either socket family and counts an impossible family', async () => {
    const c = await client('udp4');
    const dual = endpoint({ address: '::' });
    const v4 = endpoint({ address: '127.0.0.1' });
    dual.send(Buffer.from('mapped from dual'), 16, MAPPED_LOOP4, c.port);
    v4.send(Buffer.from('mapped from v4'), 14, MAPPED_LOOP4, c.port);
    v4.send(Buffer.from('plain v4'), 8, LOOP4, c.port);
    v4.send(Buffer.from('nowhere'), 7, LOOP6, c.port);
    dual.flush();
    v4.flush();
    const got = await c.waitFor(3);
    expect(got.map((b) => b.toString()).sort()).toEqual(['mapped from dual', 'mapped from v4', 'plain v4']);
    expect(v4.sendErrors).toBe(1);
    expect(v4.lastSendError).toBe('EAFNOSUPPORT');
    expect(dual.sendErrors).toBe(0);
  });

  it('sends queued outside a receive batch leave by the end of the microtask checkpoint, in one sendmmsg', async () => {
    const ep = endpoint();
    const c = await client();
    for (let i = 0; i < 10; i++) ep.send(Buffer.from(`unprompted ${i}`), `unprompted ${i}`.length, LOOP4, c.port);
    expect(ep.sendCalls).toBe(0);
    const got = await c.waitFor(10);
    expect(got.map((b) => b.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `unprompted ${i}`));
    expect(ep.sendCalls).toBe(1);
  });

  it('copies on send: the caller may reuse its buffer at once, and partial lengths send only that prefix', async () => {
    const ep = endpoint();
    const c = await client();
    const scratch = Buffer.alloc(64);
    scratch.write('first!');
    ep.send(scratch, 5, LOOP4, c.port);
    scratch.write('second');
    ep.send(new Uint8Array(scratch.buffer, scratch.byteOffset, 64), 6, LOOP4, c.port);
    scratch.fill(0);
    ep.flush();
    expect((await c.waitFor(2)).map((b) => b.toString())).toEqual(['first', 'second']);
  });

  it('lets SO_REUSEPORT endpoints share a port, spreading peers across them', async () => {
    const a = endpoint({ reusePort: true });
    const b = endpoint({ reusePort: true, port: a.localPort });
    expect(b.localPort).toBe(a.localPort);
    let viaA = 0;
    let viaB = 0;
    a.onDatagram((data, length, from, port) => (viaA++, a.send(data, length, from, port)));
    b.onDatagram((data, length, from, port) => (viaB++, b.send(data, length, from, port)));
    const clients = await Promise.all(Array.from({ length: 32 }, () => client()));
    await Promise.all(clients.map((c) => c.send('spread', a.localPort, '127.0.0.1')));
    await Promise.all(clients.map((c) => c.waitFor(1)));
    expect(viaA + viaB).toBe(32);
    expect(viaA).toBeGreaterThan(0);
    expect(viaB).toBeGreaterThan(0);
  });

  it('refuses a taken port without reusePort, with a typed error naming the step and what to do', () => {
    const a = endpoint();
    let err: unknown;
    try {
      endpoint({ port: a.localPort });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NativeUdpBindError);
    const e = err as NativeUdpBindError;
    expect(e.code).toBe('EADDRINUSE');
    expect(e.op).toBe('bind');
    expect(e.address).toBe('127.0.0.1');
    expect(e.port).toBe(a.localPort);
    expect(e.hint).toMatch(/reusePort/);
    expect(e.message).toContain(`127.0.0.1:${a.localPort}`);
  });

  it('rejects a non-local address, bad options and unparsable addresses with typed errors', () => {
    expect(() => endpoint({ address: '192.0.2.1' })).toThrow(
      expect.objectContaining({ name: 'NativeUdpBindError', code: 'EADDRNOTAVAIL' }),
    );
    expect(() => endpoint({ port: 70000 })).toThrow(NativeUdpOptionError);
    expect(() => endpoint({}, { batchSize: 0 })).toThrow(expect.objectContaining({ option: 'batchSize', value: 0 }));
    expect(() => endpoint({}, { maxDatagramSize: 65536 })).toThrow(NativeUdpOptionError);
    expect(() => endpoint({ address: 'not-an-address' })).toThrow(AddressParseError);
  });

  it('connected to a peer: sends go to it whatever address they name, and datagrams from others never arrive', async () => {
    const peer = await client();
    const other = await client();
    const ep = endpoint({ connect: { address: '127.0.0.1', port: peer.port } });
    const seen: string[] = [];
    ep.onDatagram((data, length, from, fromPort) =>
      seen.push(`${data.toString('latin1', 0, length)} from ${Array.from(from).join('.')}:${fromPort}`),
    );
    // Loopback delivers in send order: had the other's datagram been accepted, it would come first.
    await other.send('from the other', ep.localPort, '127.0.0.1');
    await peer.send('from the peer', ep.localPort, '127.0.0.1');
    await waitFor("the peer's datagram", () => seen.length === 1);
    expect(seen).toEqual([`from the peer from 127.0.0.1:${peer.port}`]);
    ep.send(Buffer.from('reply'), 5, LOOP4, other.port);
    ep.flush();
    expect((await peer.waitFor(1))[0]!.toString()).toBe('reply');
    expect(other.received).toHaveLength(0);
    expect(() => endpoint({ connect: { address: '127.0.0.1', port: 0 } })).toThrow(NativeUdpOptionError);
  });

  it('applies SO_RCVBUF and SO_SNDBUF', () => {
    const ep = endpoint({ receiveBufferSize: 262144, sendBufferSize: 131072 });
    // Linux doubles the request to account for its bookkeeping.
    expect(ep.receiveBufferSize).toBe(2 * 262144);
    expect(ep.sendBufferSize).toBe(2 * 131072);
  });

  it('close() releases the port, is idempotent, and turns later sends into counted errors', async () => {
    const ep = endpoint();
    echo(ep);
    const port = ep.localPort;
    const first = ep.close();
    expect(ep.close()).toBe(first);
    await first;
    const taker = await new Promise<Socket>((resolve, reject) => {
      const s = createSocket('udp4');
      sockets.push(s);
      s.once('error', reject);
      s.bind(port, '127.0.0.1', () => resolve(s));
    });
    expect(taker.address().port).toBe(port);
    expect(() => ep.send(Buffer.from('late'), 4, LOOP4, port)).not.toThrow();
    expect(ep.sendErrors).toBe(1);
    expect(ep.lastSendError).toBe('EBADF');
  });

  it('close() of an endpoint that never received resolves and releases the port too', async () => {
    const ep = endpoint({ address: '::1' });
    await ep.close();
    const again = endpoint({ address: '::1', port: ep.localPort });
    expect(again.localPort).toBe(ep.localPort);
  });

  it('counts send errors instead of throwing, and keeps serving afterwards', async () => {
    const ep = endpoint();
    echo(ep);
    const payload = Buffer.from('x');
    const attempt = (to: Uint8Array, port: number, length = 1): string | undefined => {
      ep.send(payload, length, to, port);
      ep.flush();
      return ep.lastSendError;
    };
    expect(attempt(LOOP4, 0)).toBe('EINVAL'); // port 0, refused by the kernel
    expect(attempt(Uint8Array.of(255, 255, 255, 255), 53)).toBe('EACCES'); // broadcast without SO_BROADCAST
    expect(attempt(Uint8Array.of(1, 2, 3), 53)).toBe('EINVAL'); // not an address
    expect(attempt(LOOP4, 53, 2)).toBe('EINVAL'); // longer than the data
    expect(attempt(LOOP4, 65536)).toBe('EINVAL'); // not a port
    expect(ep.sendErrors).toBe(5);
    expect(ep.sent).toBe(0);
    // A closed port on loopback answers with ICMP; that must not break receiving.
    const closed = createSocket('udp4');
    await new Promise<void>((r) => closed.bind(0, '127.0.0.1', r));
    const closedPort = closed.address().port;
    await new Promise<void>((r) => closed.close(() => r()));
    ep.send(payload, 1, LOOP4, closedPort);
    ep.flush();
    const c = await client();
    await c.send('still alive', ep.localPort, '127.0.0.1');
    expect((await c.waitFor(1))[0]!.toString()).toBe('still alive');
    expect(ep.sendErrors).toBe(5);
  });

  it('drops datagrams larger than maxDatagramSize and counts them, delivering the rest', async () => {
    const ep = endpoint({}, { maxDatagramSize: 512 });
    const lengths: number[] = [];
    ep.onDatagram((data, length, from, port) => {
      lengths.push(length);
      ep.send(data, length, from, port);
    });
    const c = await client();
    await c.send(Buffer.alloc(600, 1), ep.localPort, '127.0.0.1');
    await c.send(Buffer.alloc(512, 2), ep.localPort, '127.0.0.1');
    await c.send(Buffer.alloc(0), ep.localPort, '127.0.0.1');
    const got = await c.waitFor(2);
    expect(got.map((b) => b.length)).toEqual([512, 0]);
    expect(lengths).toEqual([512, 0]);
    expect(ep.truncated).toBe(1);
    expect(ep.datagrams).toBe(2);
  });

  it('carries near-maximum datagrams intact when maxDatagramSize allows them', async () => {
    const ep = endpoint({ receiveBufferSize: 1 << 20 }, { maxDatagramSize: 65535, batchSize: 4 });
    echo(ep);
    const big = Buffer.alloc(65000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
    const c = await client();
    c.socket.setRecvBufferSize(1 << 20);
    await c.send(big, ep.localPort, '127.0.0.1');
    const [answer] = await c.waitFor(1);
    expect(answer!.equals(big)).toBe(true);
    expect(ep.truncated).toBe(0);
  });

  it('stops delivering the rest of a batch once a handler closes the endpoint', async () => {
    const ep = endpoint();
    const c = await client();
    for (let i = 0; i < 5; i++) await c.send(`m${i}`, ep.localPort, '127.0.0.1');
    let calls = 0;
    const closed = new Promise<void>((resolve) =>
      ep.onDatagram(() => {
        calls++;
        void ep.close().then(resolve);
      }),
    );
    await closed;
    expect(calls).toBe(1);
  });

  it('a worker thread that ends with its socket still open releases the port', async () => {
    // The worker uses the addon directly (no TypeScript loader in workers):
    // what is under test is the addon's environment-teardown hook.
    const dir = mkdtempSync(join(tmpdir(), 'dts-native-udp-worker-'));
    try {
      const body = join(dir, 'worker.mjs');
      writeFileSync(
        body,
        `
        import { parentPort } from 'node:worker_threads';
        import { createRequire } from 'node:module';
        const b = createRequire(import.meta.url)(${JSON.stringify(nativeUdpAddonPath)});
        const n = 4, slot = 512;
        const address = new Uint8Array(16); address.set([127, 0, 0, 1]);
        const recv = { arena: new Uint8Array(n * slot), slotSize: slot, lengths: new Int32Array(n), addresses: new Uint8Array(16 * n), ports: new Uint16Array(n), families: new Uint8Array(n) };
        const send = { arena: new Uint8Array(65536), offsets: new Int32Array(n), lengths: new Int32Array(n), addresses: new Uint8Array(16 * n), ports: new Uint16Array(n), families: new Uint8Array(n) };
        const s = new b.UdpSocket({ family: 4, address, port: 0, reusePort: false, receiveBufferSize: 0, sendBufferSize: 0 }, recv, send, new Float64Array(b.statCount));
        s.start((count) => {
          for (let i = 0; i < count; i++) {
            send.arena.set(recv.arena.subarray(i * slot, i * slot + recv.lengths[i]), 0);
            send.offsets[0] = 0; send.lengths[0] = recv.lengths[i];
            send.addresses.set(recv.addresses.subarray(16 * i, 16 * i + 16), 0);
            send.ports[0] = recv.ports[i]; send.families[0] = recv.families[i];
            s.flush(1);
          }
        });
        parentPort.postMessage(s.info().port);
        `,
      );
      const worker = new Worker(body);
      try {
        const port = await new Promise<number>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        });
        const c = await client();
        await c.send('from main', port, '127.0.0.1');
        expect((await c.waitFor(1))[0]!.toString()).toBe('from main');
        await worker.terminate();
        const taker = createSocket('udp4');
        sockets.push(taker);
        await new Promise<void>((resolve, reject) => {
          taker.once('error', reject);
          taker.bind(port, '127.0.0.1', resolve);
        });
      } finally {
        await worker.terminate();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('in a process of its own', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'dts-native-udp-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** Run an ESM script under tsx (from the repo root, so workspace imports resolve); resolves its stdout. */
    function runScript(name: string, body: string, wrap: (cmd: string[]) => string[] = (c) => c): Promise<string> {
      const file = join(dir, `${name}.mts`);
      writeFileSync(file, `import { createNativeUdpEndpoint } from ${JSON.stringify(endpointModule)};\n${body}`);
      const [cmd, ...args] = wrap([process.execPath, '--import', 'tsx', file]);
      return new Promise((resolve, reject) =>
        execFile(cmd!, args, { cwd: repoRoot, timeout: 20000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${name} failed: ${err.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
    }

    it('a throwing handler costs nothing else in its batch and surfaces as an uncaught exception', async () => {
      const out = await runScript(
        'throwing-handler',
        `
        import { createSocket } from 'node:dgram';
        const ep = createNativeUdpEndpoint({ address: '127.0.0.1', port: 0 });
        const c = createSocket('udp4');
        await new Promise((r) => c.bind(0, '127.0.0.1', r));
        for (let i = 0; i < 5; i++) await new Promise((r) => c.send('m' + i, ep.localPort, '127.0.0.1', r));
        const answers = [];
        const uncaught = [];
        process.on('uncaughtException', (e) => uncaught.push(e.message));
        c.on('message', async (m) => {
          answers.push(m.toString());
          if (answers.length === 4) {
            c.close();
            await ep.close();
            console.log(JSON.stringify({ answers, uncaught, batches: ep.batches }));
          }
        });
        ep.onDatagram((data, length, from, port) => {
          if (data.toString('latin1', 0, length) === 'm1') throw new Error('handler failed on m1');
          ep.send(data, length, from, port);
        });
        `,
      );
      const r = JSON.parse(out) as { answers: string[]; uncaught: string[]; batches: number };
      expect(r.answers.sort()).toEqual(['m0', 'm2', 'm3', 'm4']);
      expect(r.uncaught).toEqual(['handler failed on m1']);
    });

    itRequires('a full send buffer (EAGAIN) drops the rest of the flush and counts it', loopbackShaping, async () => {
      // Loopback frees send-buffer space as soon as a datagram is handed
      // over, so EAGAIN needs a slow qdisc: a private network namespace
      // whose loopback is rate-limited, leaving the machine's own alone.
      const out = await runScript(
        'eagain',
        `
        const ep = createNativeUdpEndpoint({ address: '127.0.0.1', port: 0, sendBufferSize: 1 });
        const payload = Buffer.alloc(1000, 1);
        for (let i = 0; i < 64; i++) ep.send(payload, payload.length, Uint8Array.of(127, 0, 0, 1), 9);
        ep.flush();
        console.log(JSON.stringify({ sent: ep.sent, sendErrors: ep.sendErrors, last: ep.lastSendError }));
        await ep.close();
        `,
        (cmd) => [
          '/usr/bin/unshare',
          '-n',
          '--',
          '/bin/sh',
          '-c',
          'ip link set lo up && tc qdisc add dev lo root tbf rate 1mbit burst 1600 limit 1000000 && exec "$@"',
          'sh',
          ...cmd,
        ],
      );
      const r = JSON.parse(out) as { sent: number; sendErrors: number; last: string };
      expect(r.last).toBe('EAGAIN');
      expect(r.sent).toBeGreaterThan(0);
      expect(r.sendErrors).toBeGreaterThan(0);
      expect(r.sent + r.sendErrors).toBe(64);
    });
  });
});

describeNative('NativeUdpEndpoint with a BPF socket filter', () => {
  describeBpf('on its fd', () => {
    it('drops datagrams from a blocked source while others still arrive', async () => {
      const obj = BpfObject.open(sockDropFixture).load();
      const ep = createNativeUdpEndpoint({ address: '127.0.0.1', port: 0 });
      const senders: Socket[] = [];
      try {
        const key = Buffer.alloc(4);
        key.writeUInt32LE((127 << 24) | 2); // 127.0.0.2 as the fixture's map stores it
        obj.map('blocked_v4').update(key, Buffer.alloc(8));
        attachSocketFilter(ep.fd, obj.program('sock_drop_src'));
        const seen: string[] = [];
        let resolveSeen: () => void = () => {};
        const allowedArrived = new Promise<void>((r) => (resolveSeen = r));
        ep.onDatagram((data, length, from) => {
          seen.push(`${Array.from(from).join('.')} ${data.toString('latin1', 0, length)}`);
          if (seen.some((x) => x.endsWith('last'))) resolveSeen();
        });
        for (const [src, text] of [
          ['127.0.0.2', 'blocked'],
          ['127.0.0.3', 'allowed'],
          ['127.0.0.3', 'last'],
        ] as const) {
          const s = createSocket('udp4');
          senders.push(s);
          await new Promise<void>((r) => s.bind(0, src, r));
          await new Promise<void>((r) => s.send(text, ep.localPort, '127.0.0.1', () => r()));
        }
        await allowedArrived;
        expect(seen).toEqual(['127.0.0.3 allowed', '127.0.0.3 last']);
      } finally {
        for (const s of senders) s.close();
        await ep.close();
        obj.close();
      }
      expect(ep.fd).toBe(-1);
    });
  });
});
