/**
 * CounterLayout, pure logic over real proxy objects (no sockets): each
 * worker's row, the control plane's sums (counters add up, gauges add up,
 * moving averages are averaged), and a dead worker's counters kept so the
 * totals never go back.
 */
import { DnsdistProxy } from '../../src/server/dnsdist-proxy.js';
import { RuleChains } from '../../src/rules/index.js';
import { Rings } from '../../src/rings/index.js';
import { CounterLayout } from '../../src/workers/counter-layout.js';
import { serverConfigFrom } from '../../src/lua/bind-servers.js';
import { DohFrontend } from '../../src/doh/doh-frontend.js';
import type { DohFrontendConfig } from '../../src/doh/doh-config.js';

async function proxyWithOneServer(): Promise<DnsdistProxy> {
  const p = new DnsdistProxy((c) => new RuleChains(c), new Rings());
  await p.addServer(serverConfigFrom('127.0.0.1:9'));
  return p;
}

describe('CounterLayout', () => {
  it('sums counters and gauges, averages latency, and keeps a dead worker’s counters', async () => {
    const [w0, w1, control] = await Promise.all([proxyWithOneServer(), proxyWithOneServer(), proxyWithOneServer()]);
    const l0 = new CounterLayout(w0);
    const l1 = new CounterLayout(w1);
    const lc = new CounterLayout(control);
    expect(l0.size).toBe(lc.size);
    const rows = [new Float64Array(lc.rowLength), new Float64Array(lc.rowLength)];
    const retired = new Float64Array(lc.rowLength);

    w0.counters.queries = 5;
    w1.counters.queries = 7;
    w0.servers[0]!.outstanding = 2;
    w1.servers[0]!.outstanding = 3;
    w0.servers[0]!.latencyUsec = 100;
    w1.servers[0]!.latencyUsec = 300;
    w0.counters.latencyAvg100 = 50;
    l0.write(rows[0]!);
    // Worker 1 has not written yet: its row does not count.
    lc.sumInto(rows, retired);
    expect(control.counters.queries).toBe(5);
    l1.write(rows[1]!);
    lc.sumInto(rows, retired);
    expect(control.counters.queries).toBe(12);
    expect(control.servers[0]!.outstanding).toBe(5);
    expect(control.servers[0]!.latencyUsec).toBe(200);
    // An average only one worker has is that worker's, not half of it.
    expect(control.counters.latencyAvg100).toBe(50);

    // Worker 1 dies: its counters stay in the totals, its in-flight gauge goes.
    lc.retire(rows[1]!, retired);
    lc.sumInto(rows, retired);
    expect(control.counters.queries).toBe(12);
    expect(control.servers[0]!.outstanding).toBe(2);
    // Its successor starts from zero and adds on top.
    w1.counters.queries = 1;
    w1.servers[0]!.outstanding = 0;
    l1.write(rows[1]!);
    lc.sumInto(rows, retired);
    expect(control.counters.queries).toBe(13);
    await Promise.all([w0.stop(), w1.stop(), control.stop()]);
  });

  it('sums DoH frontends’ counters, keeping the highest worker’s maximum of concurrent connections', async () => {
    const withDoh = async (): Promise<DnsdistProxy> => {
      const p = await proxyWithOneServer();
      // Never started: only its counters are read and written.
      p.dohFrontends.push(
        new DohFrontend({ host: '127.0.0.1', port: 0, certFiles: [] } as unknown as DohFrontendConfig, p.processor, () => {}),
      );
      return p;
    };
    const [w0, w1, control] = await Promise.all([withDoh(), withDoh(), withDoh()]);
    const [l0, l1, lc] = [new CounterLayout(w0), new CounterLayout(w1), new CounterLayout(control)];
    expect(lc.size).toBeGreaterThan(new CounterLayout(await proxyWithOneServer()).size);
    const rows = [new Float64Array(lc.rowLength), new Float64Array(lc.rowLength)];
    const retired = new Float64Array(lc.rowLength);
    const [d0, d1, dc] = [w0, w1, control].map((p) => p.dohFrontends[0]!.counters);
    d0!.http2.status200 = 4;
    d1!.http2.status200 = 6;
    d0!.currentConnections = 2;
    d1!.currentConnections = 1;
    d0!.maxConcurrentConnections = 3;
    d1!.maxConcurrentConnections = 5;
    l0.write(rows[0]!);
    l1.write(rows[1]!);
    lc.sumInto(rows, retired);
    expect(dc!.http2.status200).toBe(10);
    expect(dc!.currentConnections).toBe(3);
    expect(dc!.maxConcurrentConnections).toBe(5);
    // Worker 1 dies: its maximum is kept, its connections are gone.
    lc.retire(rows[1]!, retired);
    lc.sumInto(rows, retired);
    expect(dc!.maxConcurrentConnections).toBe(5);
    expect(dc!.currentConnections).toBe(2);
    expect(dc!.http2.status200).toBe(10);
    await Promise.all([w0.stop(), w1.stop(), control.stop()]);
  });
});
