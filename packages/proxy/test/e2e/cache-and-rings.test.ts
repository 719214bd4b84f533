import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { tcpQuery, udpQuery } from '../support/dns-client.js';
import { startDemo, startProxy, type RunningProxy } from '../support/proxy-harness.js';

describe('packet cache and rings from a Lua configuration', () => {
  let demo: DemoServer;
  let proxy: RunningProxy;

  beforeAll(async () => {
    demo = await startDemo();
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       setRingBuffersSize(1000, 2)
       newServer{address="127.0.0.1:\${DEMO}", checkName="example.test."}
       pc = newPacketCache(100, {maxTTL=86400, minTTL=0, numberOfShards=1})
       getPool(""):setCache(pc)`,
      { DEMO: demo.port },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await demo?.close();
  });

  it('answers the second identical query from the cache, with the client ID', async () => {
    const c = proxy.app.proxy.counters;
    const backendBefore = proxy.app.proxy.servers[0]!.counters.queries;
    const first = await udpQuery(proxy.port, 'www.example.test', { id: 100 });
    const second = await udpQuery(proxy.port, 'WWW.Example.TEST', { id: 200 });
    expect(first?.answers?.[0]?.data).toBe('192.0.2.10');
    expect(second?.id).toBe(200);
    expect(second?.answers?.[0]?.data).toBe('192.0.2.10');
    expect(c.cacheMisses).toBe(1);
    expect(c.cacheHits).toBe(1);
    expect(proxy.app.proxy.servers[0]!.counters.queries - backendBefore).toBe(1);
    expect(proxy.app.runConsoleCommand('getPool(""):getCache():printStats()')).toMatch(/^Entries: 1\/100\nHits: 1\nMisses: 1\n/);
  });

  it('keeps UDP and TCP entries apart, as dnsdist does', async () => {
    const misses = proxy.app.proxy.counters.cacheMisses;
    await tcpQuery(proxy.port, 'www.example.test');
    expect(proxy.app.proxy.counters.cacheMisses).toBe(misses + 1);
  });

  it('records queries and answers in the rings: topQueries, topClients, grepq', async () => {
    for (let i = 0; i < 3; i++) await udpQuery(proxy.port, 'mail.example.test');
    expect(proxy.app.runConsoleCommand('topQueries(1)')).toMatch(/^ {3}1 {2}mail\.example\.test\. +3 +\d+\.\d%$/m);
    expect(proxy.app.runConsoleCommand('topClients(1)')).toMatch(/^ {3}1 {2}127\.0\.0\.1 /m);
    const grep = proxy.app.runConsoleCommand('grepq("mail.example.test")');
    expect(grep.split('\n')[0]).toMatch(/^Time\s+Client\s+Protocol\s+Server\s+ID\s+Name\s+Type\s+Lat\.\s+TC\s+RD\s+AA\s+Rcode$/);
    expect(grep).toContain('mail.example.test.');
  });

  it('exceedQRate returns clients over the rate as ComboAddress keys', () => {
    const out = proxy.app.runConsoleCommand('for k, v in pairs(exceedQRate(0, 10)) do print(k:toString(), v) end');
    expect(out).toMatch(/^127\.0\.0\.1\t\d+$/m);
  });
});
