import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { startDemoServer, type DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { udpQuery, waitFor } from '../support/dns-client.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { oneWorker } from '../support/test-workers.js';

/** A UDP backend that answers every query with a fixed A record and counts what it got. */
async function countingBackend(address: string, opts: { tc?: boolean; silent?: boolean } = {}) {
  const socket = dgram.createSocket('udp4');
  const state = { queries: 0, seen: [] as Array<{ name: string; at: number }> };
  socket.on('message', (msg, rinfo) => {
    state.queries++;
    if (opts.silent) return;
    const q = dnsPacket.decode(msg);
    state.seen.push({ name: q.questions![0]!.name, at: performance.now() });
    const answer = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (opts.tc ? dnsPacket.TRUNCATED_RESPONSE : 0),
      questions: q.questions,
      answers: opts.tc ? [] : [{ type: 'A', name: q.questions![0]!.name, ttl: 60, data: address }],
    });
    socket.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { port: socket.address().port, state, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

describe('backends: policies, health, timeouts', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
  const track = <T extends { close(): Promise<void> } | RunningProxy>(x: T): T => {
    cleanups.push(() => ('stop' in x ? x.stop() : x.close()));
    return x;
  };

  it('keeps a backend it cannot connect a socket to, logs why, and counts its failed sends', async () => {
    // connect(2) to the broadcast address fails (EACCES without SO_BROADCAST), as an unroutable backend would.
    const good = track(await countingBackend('192.0.2.9'));
    const proxy = track(
      await startProxy(
        `setLocal("127.0.0.1:\${PORT}")
         newServer{address="255.255.255.255:53", name="unreachable", order=1, healthCheckMode="up"}
         newServer{address="127.0.0.1:\${B}", order=2, healthCheckMode="up"}
         setServerPolicy(firstAvailable)`,
        { B: good.port },
        oneWorker('per-worker-endpoint'),
      ),
    );
    expect(proxy.output.find((l) => l.startsWith('Error connecting to new server with address 255.255.255.255:53'))).toMatch(
      /EACCES|permission/i,
    );
    const bad = proxy.app.proxy.servers[0]!;
    expect(bad.udpEndpoints).toHaveLength(1);
    // firstAvailable picks it; its send fails and is counted, the query is not answered.
    expect(await udpQuery(proxy.port, 'lost.test', { timeoutMs: 300 })).toBeUndefined();
    await waitFor('the failed send counted', () => bad.udpEndpoints[0]!.sendErrors === 1);
    bad.availability = 'down';
    expect((await udpQuery(proxy.port, 'kept.test'))?.answers?.[0]).toMatchObject({ data: '192.0.2.9' });
  });

  it('forwards to an IPv6 backend over its connected socket', async () => {
    const demo = track(await startDemoServer('::1', 0));
    const proxy = track(
      await startProxy(`setLocal("127.0.0.1:\${PORT}") newServer{address="[::1]:\${B}", healthCheckMode="up"}`, { B: demo.port }),
    );
    expect((await udpQuery(proxy.port, 'www.example.test'))?.answers?.[0]).toMatchObject({ type: 'A', data: '192.0.2.10' });
    expect(proxy.app.proxy.servers[0]!.udpEndpoints[0]!.localAddress).toBe('::');
    // Connecting worked (a failure falls back to an unconnected socket and says so).
    expect(proxy.output.filter((l) => l.startsWith('Error connecting'))).toEqual([]);
  });

  it('roundrobin gives each backend a query in turn, over every worker', async () => {
    const b1 = track(await countingBackend('192.0.2.1'));
    const b2 = track(await countingBackend('192.0.2.2'));
    const proxy = track(
      await startProxy(
        `setLocal("127.0.0.1:\${PORT}")
         newServer{address="127.0.0.1:\${B1}", healthCheckMode="up"}
         newServer{address="127.0.0.1:\${B2}", healthCheckMode="up"}
         setServerPolicy(roundrobin)`,
        { B1: b1.port, B2: b2.port },
      ),
    );
    // Each query from a new socket: with workers the kernel spreads them, and the position is the process's.
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) seen.push(String((await udpQuery(proxy.port, `n${i}.test`))?.answers?.[0]?.data));
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `192.0.2.${(i % 2) + 1}`));
    expect(b1.state.queries).toBe(5);
    expect(b2.state.queries).toBe(5);
  });

  it('firstAvailable sends everything to the lowest order while it is up', async () => {
    const b1 = track(await countingBackend('192.0.2.1'));
    const b2 = track(await countingBackend('192.0.2.2'));
    const proxy = track(
      await startProxy(
        `setLocal("127.0.0.1:\${PORT}")
         newServer{address="127.0.0.1:\${B2}", order=2, healthCheckMode="up"}
         newServer{address="127.0.0.1:\${B1}", order=1, healthCheckMode="up"}
         setServerPolicy(firstAvailable)`,
        { B1: b1.port, B2: b2.port },
      ),
    );
    for (let i = 0; i < 3; i++) expect((await udpQuery(proxy.port, `n${i}.test`))?.answers?.[0]?.data).toBe('192.0.2.1');
    proxy.app.runConsoleCommand('getServer(0):setDown()');
    expect((await udpQuery(proxy.port, 'after.test'))?.answers?.[0]?.data).toBe('192.0.2.2');
  });

  it('routes by pool with getPool/PoolAction-free setup: pool servers only', async () => {
    const b1 = track(await countingBackend('192.0.2.1'));
    const proxy = track(
      await startProxy(
        `setLocal("127.0.0.1:\${PORT}")
         newServer{address="127.0.0.1:\${B1}", pool="other", healthCheckMode="up"}
         setServFailWhenNoServer(true)`,
        { B1: b1.port },
      ),
    );
    const a = await udpQuery(proxy.port, 'x.test');
    expect(a?.rcode).toBe('SERVFAIL');
    // With workers the control plane sums their counters a few times a second.
    await waitFor('no-policy counted', () => proxy.app.proxy.counters.noPolicy === 1);
    expect(b1.state.queries).toBe(0);
  });

  it('health checks take a dead backend out and bring it back', async () => {
    const port = await freePort();
    const proxy = track(
      await startProxy(
        `setLocal("127.0.0.1:\${PORT}")
         newServer{address="127.0.0.1:\${B}", name="flappy", checkName="example.test.", checkInterval=1, checkTimeout=200}`,
        { B: port },
      ),
    );
    const server = proxy.app.proxy.servers[0]!;
    expect(server.isUp()).toBe(false);
    const demo: DemoServer = await startDemoServer('127.0.0.1', port);
    cleanups.push(() => demo.close());
    await waitFor('backend marked up', () => server.isUp(), 10000);
    expect(proxy.output).toContain(`Marking downstream flappy (127.0.0.1:${port}) as 'up'`);
    expect((await udpQuery(proxy.port, 'www.example.test'))?.answers?.[0]?.data).toBe('192.0.2.10');
    await demo.close();
    cleanups.pop();
    await waitFor('backend marked down', () => !server.isUp(), 10000);
    expect(proxy.output).toContain(`Marking downstream flappy (127.0.0.1:${port}) as 'down'`);
  });

  it('health-checks every checkInterval seconds, not every other tick', async () => {
    // A check finishes a little after the tick that started it: scheduling the next one from its
    // end made every second tick skip it, so checkInterval=1 checked every 2 s.
    const backend = track(await countingBackend('192.0.2.1'));
    track(
      await startProxy(
        `setLocal("127.0.0.1:\${PORT}")
         newServer{address="127.0.0.1:\${B}", checkName="check.example.", checkInterval=1}`,
        { B: backend.port },
      ),
    );
    const checks = () => backend.state.seen.filter((q) => q.name === 'check.example').map((q) => q.at);
    await waitFor('four health checks', () => checks().length >= 4, 8000);
    const times = checks();
    for (let i = 1; i < 4; i++) expect(times[i]! - times[i - 1]!).toBeLessThan(1500);
  }, 15000);

  it('counts a backend that does not answer as a timeout', async () => {
    const silent = track(await countingBackend('192.0.2.1', { silent: true }));
    const proxy = track(
      await startProxy(
        `setLocal("127.0.0.1:\${PORT}")
         newServer{address="127.0.0.1:\${B}", healthCheckMode="up"}
         setUDPTimeout(1)`,
        { B: silent.port },
      ),
    );
    expect(await udpQuery(proxy.port, 'x.test', { timeoutMs: 300 })).toBeUndefined();
    await waitFor('downstream-timeouts', () => proxy.app.proxy.counters.downstreamTimeouts === 1, 10000);
    expect(proxy.app.proxy.servers[0]!.counters.drops).toBe(1);
    expect(proxy.app.proxy.servers[0]!.outstanding).toBe(0);
  });

  it('passes a truncated UDP answer through unchanged', async () => {
    const tc = track(await countingBackend('192.0.2.1', { tc: true }));
    const proxy = track(
      await startProxy(`setLocal("127.0.0.1:\${PORT}") newServer{address="127.0.0.1:\${B}", healthCheckMode="up"}`, { B: tc.port }),
    );
    const a = await udpQuery(proxy.port, 'big.test');
    expect(a?.flag_tc).toBe(true);
  });

  it('refuses clients outside the ACL and counts acl-drops', async () => {
    const b = track(await countingBackend('192.0.2.1'));
    const proxy = track(
      await startProxy(
        `setLocal("127.0.0.1:\${PORT}") setACL({"192.0.2.0/24"}) newServer{address="127.0.0.1:\${B}", healthCheckMode="up"}`,
        {
          B: b.port,
        },
      ),
    );
    expect(await udpQuery(proxy.port, 'x.test', { timeoutMs: 300 })).toBeUndefined();
    // With workers the control plane sums their counters a few times a second.
    await waitFor('the drop counted', () => proxy.app.proxy.counters.aclDrops === 1);
    expect(proxy.app.proxy.counters.queries).toBe(0);
    expect(b.state.queries).toBe(0);
  });
});
