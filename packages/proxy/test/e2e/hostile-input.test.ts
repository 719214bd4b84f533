import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { encodeQuery, udpExchange, udpQuery, waitFor } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

/** A UDP backend: `mode` decides what it answers. */
async function backend(mode: 'silent' | 'formerr-empty' | 'answer') {
  const socket = dgram.createSocket('udp4');
  const state = { queries: 0 };
  socket.on('message', (msg, rinfo) => {
    state.queries++;
    if (mode === 'silent') return;
    const q = dnsPacket.decode(msg);
    const answer =
      mode === 'formerr-empty'
        ? Buffer.from([msg[0]!, msg[1]!, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0])
        : dnsPacket.encode({
            type: 'response',
            id: q.id,
            flags: dnsPacket.RECURSION_DESIRED,
            questions: q.questions,
            answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 60, data: '192.0.2.1' }],
          });
    socket.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { port: socket.address().port, state, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

describe('hostile and unusual input', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
  const start = async (config: string, vars: Record<string, number>): Promise<RunningProxy> => {
    const p = await startProxy(config, vars);
    cleanups.push(() => p.stop());
    return p;
  };

  it('answers a 3,000-query TCP pipeline answered synchronously, without exhausting the stack', async () => {
    const p = await start(`setLocal("127.0.0.1:\${PORT}")`, {});
    // Queries without a question get NOTIMP right away: every answer is synchronous.
    const frame = Buffer.from([0, 12, 0x12, 0x34, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const socket = net.connect({ host: '127.0.0.1', port: p.port });
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      socket.on('connect', () => socket.write(Buffer.concat(Array.from({ length: 3000 }, () => frame))));
      socket.on('data', (d: Buffer) => {
        received += d.length;
        if (received >= 3000 * 14) resolve();
      });
      socket.on('error', reject);
      socket.on('close', () => reject(new Error(`closed after ${received} bytes`)));
    });
    socket.destroy();
    // With workers the control plane sums their counters a few times a second.
    await waitFor('3,000 empty queries counted', () => p.app.proxy.counters.emptyQueries === 3000);
  });

  it('stops reading from a TCP client that does not read its answers, and drops it after the send timeout', async () => {
    // Every query gets a ~500-byte spoofed answer, so unread answers fill the socket buffers quickly.
    const addrs = Array.from({ length: 30 }, (_, i) => `"192.0.2.${i + 1}"`).join(', ');
    const p = await start(
      `setLocal("127.0.0.1:\${PORT}", {maxInFlight=100}) setTCPSendTimeout(1) addAction(AllRule(), SpoofAction({${addrs}}))`,
      {},
    );
    const query = encodeQuery('big.test', { id: 1 });
    const frame = Buffer.concat([Buffer.from([0, query.length]), query]);
    const tcp = p.app.proxy.frontends[0]!.tcp;
    const socket = net.connect({ host: '127.0.0.1', port: p.port });
    // The client never reads (a paused socket also never notices the proxy hanging up).
    socket.pause();
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    await waitFor('connection accepted', () => tcp.currentConnections === 1);
    // 60,000 queries: about 30 MB of answers, far more than socket buffers hold; never read back.
    socket.write(Buffer.concat(Array.from({ length: 60_000 }, () => frame)));
    await waitFor('the proxy drops the connection', () => tcp.currentConnections === 0, 15_000);
    socket.destroy();
    expect(p.app.proxy.counters.selfAnswered).toBeLessThan(60_000);
  }, 25_000);

  it('never lets an answer from another address than the backend reach the proxy (connected backend sockets)', async () => {
    const silent = await backend('silent');
    cleanups.push(() => silent.close());
    const p = await start(`setLocal("127.0.0.1:\${PORT}") newServer{address="127.0.0.1:\${B}", healthCheckMode="up"}`, { B: silent.port });
    const server = p.app.proxy.servers[0]!;
    const pending = udpQuery(p.port, 'forged.test', { id: 77, timeoutMs: 800 });
    await waitFor('query sent to the backend', () => silent.state.queries === 1);
    // A forger that saw nothing guesses slot ID 0 (the first query's) and answers from its own port.
    const forged = dnsPacket.encode({
      type: 'response',
      id: 0,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'forged.test', class: 'IN' }],
      answers: [{ type: 'A', name: 'forged.test', ttl: 60, data: '203.0.113.66' }],
    });
    // The backend socket is connected to the backend, as dnsdist's are, so the kernel has no
    // socket for the forger's datagram and answers port-unreachable, which a connected forger
    // sees as ECONNREFUSED.
    const forger = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => forger.connect(server.udpEndpoints[0]!.localPort, '127.0.0.1', resolve));
    const refused = new Promise<string | undefined>((resolve) => forger.once('error', (e: NodeJS.ErrnoException) => resolve(e.code)));
    forger.send(forged);
    expect(await refused).toBe('ECONNREFUSED');
    forger.close();
    expect(await pending).toBeUndefined();
    expect(server.unexpectedAnswers).toBe(0);
    expect(server.outstanding).toBe(1);
  });

  it('passes on a FORMERR answer without a question section (dnsdist accepts those)', async () => {
    const b = await backend('formerr-empty');
    cleanups.push(() => b.close());
    const p = await start(`setLocal("127.0.0.1:\${PORT}") newServer{address="127.0.0.1:\${B}", healthCheckMode="up"}`, { B: b.port });
    const answer = await udpExchange(p.port, encodeQuery('x.test', { id: 4321 }));
    expect(answer?.readUInt16BE(0)).toBe(4321);
    expect(answer![3]! & 0x0f).toBe(1);
  });

  it("a backend's qps limit makes firstAvailable spill over to the next server", async () => {
    const b1 = await backend('answer');
    const b2 = await backend('answer');
    cleanups.push(
      () => b1.close(),
      () => b2.close(),
    );
    const p = await start(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:\${B1}", order=1, qps=5, healthCheckMode="up"}
       newServer{address="127.0.0.1:\${B2}", order=2, healthCheckMode="up"}
       setServerPolicy(firstAvailable)`,
      { B1: b1.port, B2: b2.port },
    );
    for (let i = 0; i < 30; i++) await udpQuery(p.port, `n${i}.test`);
    expect(b1.state.queries).toBeGreaterThanOrEqual(5);
    expect(b1.state.queries).toBeLessThan(15);
    expect(b2.state.queries).toBe(30 - b1.state.queries);
  });
});
