import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { describeBpf } from '../../../../test/support/require-bpf.js';
import { outcomes, runFlood } from './dns-flood.js';
import { tcpQueryFrom, udpQueryFrom } from './source-bound-client.js';

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
    expect(proxy.app.runConsoleCommand('getBind(0):detachFilter()')).toBe('');
    expect((await udp(blocked))?.answers?.[0]?.data).toBe('192.0.2.99');
    expect(await tcp(blocked)).toBe('no-connection');
    expect(proxy.app.runConsoleCommand('getBind(0):attachFilter(bpf)')).toBe('');
    expect(await udp(blocked)).toBeUndefined();
    proxy.app.runConsoleCommand('bpf:unblock(newCA("127.0.0.2"))');
    expect(await tcp(blocked)).toMatchObject({ answers: [{ data: '192.0.2.99' }] });
  });

  it("refuses to start when the UDP listener's socket cannot take a filter (Node's dgram)", async () => {
    await expect(startProxy(CONFIG, {}, { udpImplementation: 'dgram' })).rejects.toThrow(
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
