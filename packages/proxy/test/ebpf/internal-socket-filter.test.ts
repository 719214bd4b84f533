import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { describeBpf } from '../../../../test/support/require-bpf.js';
import { outcomes, runFlood } from './dns-flood.js';
import { tcpQueryFrom, udpQueryFrom } from './source-bound-client.js';
import { waitFor } from '../support/dns-client.js';
import { burst, burstOverBothWorkers, perWorker } from '../support/worker-traffic.js';
import { oneWorker } from '../support/test-workers.js';

const CONFIG = `
  setLocal("127.0.0.1:\${PORT}")
  addAction(AllRule(), SpoofAction("192.0.2.99"))
  bpf = newBPFFilter(64, 64, 64)
  setDefaultBPFFilter(bpf)
  bpf:block(newCA("127.0.0.2"))
  bpf:blockQName(newDNSName("Bad.Example"), 16)
`;

describeBpf('internal mode: setDefaultBPFFilter attaches the socket filter to every listener', () => {
  let proxy: RunningProxy;
  const clean = '127.0.0.1';
  const blocked = '127.0.0.2';
  const udp = (src: string, name = 'www.example', type: 'A' | 'TXT' = 'A') =>
    udpQueryFrom(src, '127.0.0.1', proxy.port, name, { type, timeoutMs: 500 });
  const tcp = (src: string) => tcpQueryFrom(src, '127.0.0.1', proxy.port, 'www.example', { timeoutMs: 500 });
  const udpQueries = () => proxy.app.proxy.frontends[0]!.udp.queries;
  const tcpQueries = () => proxy.app.proxy.frontends[0]!.tcp.queries;

  beforeAll(async () => {
    // The socket filter needs the listener's socket: the native UDP implementation exposes it.
    proxy = await startProxy(CONFIG, {}, { udpImplementation: 'native' });
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it("drops a blocked client's UDP and TCP queries before the proxy sees them, and counts them in the map", async () => {
    expect((await udp(clean))?.answers?.[0]?.data).toBe('192.0.2.99');
    expect(await tcp(clean)).toMatchObject({ answers: [{ data: '192.0.2.99' }] });
    const [u, t] = [udpQueries(), tcpQueries()];

    expect(await udp(blocked)).toBeUndefined();
    expect(await tcp(blocked)).toBe('no-connection');
    expect([udpQueries(), tcpQueries()]).toEqual([u, t]);
    // One UDP packet, and at least one SYN (the client retransmits it).
    expect(Number(/127\.0\.0\.2: (\d+)/.exec(proxy.app.runConsoleCommand('bpf:getStats()'))?.[1])).toBeGreaterThanOrEqual(2);
  });

  it('drops UDP queries for a blocked name and qtype only', async () => {
    expect(await udp(clean, 'bad.example', 'TXT')).toBeUndefined();
    expect((await udp(clean, 'bad.example', 'A'))?.answers?.[0]?.data).toBe('192.0.2.99');
  });

  it('getBind(n):detachFilter() and attachFilter(bpf) change one socket at runtime', async () => {
    // As the console runs them: with data-plane workers the reply comes once every worker's socket has the change.
    expect(await proxy.app.runConsoleCommandSliced('getBind(0):detachFilter()')).toBe('');
    expect((await udp(blocked))?.answers?.[0]?.data).toBe('192.0.2.99');
    expect(await tcp(blocked)).toBe('no-connection');
    expect(await proxy.app.runConsoleCommandSliced('getBind(0):attachFilter(bpf)')).toBe('');
    expect(await udp(blocked)).toBeUndefined();
    proxy.app.runConsoleCommand('bpf:unblock(newCA("127.0.0.2"))');
    expect(await tcp(blocked)).toMatchObject({ answers: [{ data: '192.0.2.99' }] });
  });

  it("refuses to start when the UDP listener's socket cannot take a filter (Node's dgram)", async () => {
    await expect(startProxy(CONFIG, {}, { udpImplementation: 'dgram', ...oneWorker('dgram-udp') })).rejects.toThrow(
      /uses Node's dgram implementation, which does not expose its socket for a BPF filter: use the native UDP implementation/,
    );
  });
});

describeBpf('internal mode: dynamic blocks reach the socket filter', () => {
  it('a client above the rate is blocked by the socket filter: its UDP and TCP queries never reach the proxy', async () => {
    const proxy = await startProxy(
      `
      setLocal("127.0.0.1:\${PORT}")
      addAction(AllRule(), SpoofAction("192.0.2.99"))
      bpf = newBPFFilter(64, 64, 64)
      setDefaultBPFFilter(bpf)
      dbr = dynBlockRulesGroup()
      dbr:setQueryRate(100, 1, "Exceeded query rate", 30, DNSAction.Drop)
      function maintenance() dbr:apply() end
    `,
      {},
      { udpImplementation: 'native' },
    );
    try {
      const attack = await runFlood({ server: '127.0.0.1', port: proxy.port, source: '127.0.0.2', rate: 400, seconds: 2 });
      const o = outcomes(attack);
      expect(o.A).toBeGreaterThanOrEqual(100);
      expect(o['-']).toBeGreaterThan(200);
      const hits = Number(/127\.0\.0\.2: (\d+)/.exec(proxy.app.runConsoleCommand('bpf:getStats()'))?.[1]);
      expect(hits).toBeGreaterThanOrEqual(o['-']! - 50);
      const seen = proxy.app.proxy.frontends[0]!.udp.queries;
      expect(seen).toBeLessThanOrEqual(o.A! + 50);
      expect(await udpQueryFrom('127.0.0.2', '127.0.0.1', proxy.port, 'www.example', { timeoutMs: 500 })).toBeUndefined();
      expect(await tcpQueryFrom('127.0.0.2', '127.0.0.1', proxy.port, 'www.example', { timeoutMs: 500 })).toBe('no-connection');
      expect(proxy.app.proxy.frontends[0]!.udp.queries).toBe(seen);
      expect((await udpQueryFrom('127.0.0.1', '127.0.0.1', proxy.port, 'www.example'))?.answers?.[0]?.data).toBe('192.0.2.99');
    } finally {
      await proxy.stop();
    }
  });
});

describeBpf('internal mode with two data-plane workers: every worker attaches the control plane’s socket filter', () => {
  let proxy: RunningProxy;
  const blocked = '127.0.0.2';
  const pool = () => proxy.app.workers!;
  /** Every worker follows the control plane's latest socket filters (a console command's reply waits for it too). */
  const delivered = () => pool().socketFilters.delivered();
  const total = () => perWorker(proxy).reduce((a, b) => a + b, 0);
  /** `n` queries from `src`, each from its own source port: over both workers' sockets unless a filter drops them. */
  const udpBurst = (src: string, n = 16) => burst(src, proxy.port, n, 'sf');
  /** 4 TCP queries from `src` at once, each on its own connection. */
  const tcpBurst = (src: string) =>
    Promise.all(Array.from({ length: 4 }, () => tcpQueryFrom(src, '127.0.0.1', proxy.port, 'www.example', { timeoutMs: 500 })));

  beforeAll(async () => {
    // Explicit, whatever DNSDIST_TS_TEST_WORKERS says: the test is about the workers' sockets.
    proxy = await startProxy(CONFIG, {}, { udpImplementation: 'native', workers: 2 });
    await delivered();
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it("drops a blocked client's UDP queries and TCP SYNs on both workers' sockets, answered again once detached at the console", async () => {
    // The clean client reaches both workers: each has its sockets.
    expect(await burstOverBothWorkers(proxy, '127.0.0.1', 16, 'clean')).toEqual(Array(16).fill('NOERROR'));
    const before = total();
    // 16 source ports (and 4 TCP connections) hash over both workers' sockets: none gets through.
    expect(await udpBurst(blocked)).toEqual(Array(16).fill('timeout'));
    expect(await tcpBurst(blocked)).toEqual(Array(4).fill('no-connection'));
    // Every one was counted in the map (the SYNs at least once each).
    expect(Number(/127\.0\.0\.2: (\d+)/.exec(proxy.app.runConsoleCommand('bpf:getStats()'))?.[1])).toBeGreaterThanOrEqual(20);
    // And no worker counted them: after 16 clean queries the workers' total grew by those 16 only.
    expect(await burst('127.0.0.1', proxy.port, 16, 'probe')).toEqual(Array(16).fill('NOERROR'));
    await waitFor('the workers to publish their counts', () => total() >= before + 16);
    expect(total()).toBe(before + 16);

    // Detached at the console (UDP and TCP binds): the blocked client is answered by both workers.
    expect(await proxy.app.runConsoleCommandSliced('getBind(0):detachFilter() getBind(1):detachFilter()')).toBe('');
    expect(await burstOverBothWorkers(proxy, blocked, 16, 'detached')).toEqual(Array(16).fill('NOERROR'));
    for (const answer of await tcpBurst(blocked)) expect(answer).toMatchObject({ answers: [{ data: '192.0.2.99' }] });

    // bpf:attachToAllBinds() puts it back on every worker's sockets.
    expect(await proxy.app.runConsoleCommandSliced('bpf:attachToAllBinds()')).toBe('');
    expect(await udpBurst(blocked)).toEqual(Array(16).fill('timeout'));
  }, 60_000);

  it("a dynamic block added at the console lands in the control plane's map, which both workers' sockets read", async () => {
    expect(proxy.app.runConsoleCommand('addDynamicBlock("127.0.0.3", "sf test", DNSAction.Drop, 60)')).toBe('');
    expect(await udpBurst('127.0.0.3')).toEqual(Array(16).fill('timeout'));
    // Dropped by the kernel (counted in the map), not by the workers' copies of the block table.
    expect(Number(/127\.0\.0\.3: (\d+)/.exec(proxy.app.runConsoleCommand('bpf:getStats()'))?.[1])).toBe(16);
  });

  it('a restarted worker attaches the socket filters of record', async () => {
    const oldThread = pool().status()[1]!.threadId;
    expect(await proxy.app.runConsoleCommandSliced('restartWorker(1)')).toBe('');
    await waitFor('the restart', () => pool().status()[1]!.state === 'running' && pool().status()[1]!.threadId !== oldThread, 15_000);
    // Both workers take queries (the restarted one too), and neither answers the blocked client.
    expect(await burstOverBothWorkers(proxy, '127.0.0.1', 16, 'restarted')).toEqual(Array(16).fill('NOERROR'));
    expect(await udpBurst(blocked)).toEqual(Array(16).fill('timeout'));
    expect(await tcpBurst(blocked)).toEqual(Array(4).fill('no-connection'));
    expect(proxy.output.join('\n')).not.toMatch(/BPF filter on/);
  }, 60_000);
});
