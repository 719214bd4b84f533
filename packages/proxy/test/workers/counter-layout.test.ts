/**
 * CounterLayout, pure logic over real proxy objects (no sockets): the
 * counters of backends and rules added at the console, copied from each
 * worker's row and summed in the control plane, each combined as its cell
 * says (counters and gauges add up, high-water marks take the highest,
 * averages are averaged), and a dead worker's counters kept so the totals
 * never go back. The configuration's counters, listeners' included, are read
 * live instead (live-counters.test.ts).
 */
import { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { RuleChains } from '@dnsdist-ts/dataplane/rules/index.js';
import { Rings } from '@dnsdist-ts/dataplane/rings/index.js';
import { CounterLayout } from '../../src/workers/counter-layout.js';
import { serverConfigFrom } from '../../src/lua/bind-servers.js';

async function proxyWithOneServer(): Promise<DnsdistProxy> {
  const p = new DnsdistProxy((c) => new RuleChains(c), new Rings());
  await p.addServer(serverConfigFrom('127.0.0.1:9'));
  return p;
}

describe('CounterLayout', () => {
  it('sums the counters of the backends it is given, each as its cell says, and keeps a dead worker’s', async () => {
    const [w0, w1, control] = await Promise.all([proxyWithOneServer(), proxyWithOneServer(), proxyWithOneServer()]);
    const layout = (p: DnsdistProxy) => new CounterLayout({ servers: p.servers, rules: [] });
    const [l0, l1, lc] = [layout(w0), layout(w1), layout(control)];
    expect(l0.size).toBe(lc.size);
    const rows = [new Float64Array(lc.rowLength), new Float64Array(lc.rowLength)];
    const retired = new Float64Array(lc.rowLength);
    const [s0, s1, sc] = [w0, w1, control].map((p) => p.servers[0]!);
    s0!.counters.queries = 5;
    s1!.counters.queries = 3;
    s0!.outstanding = 2;
    s1!.outstanding = 1;
    s0!.counters.tcpCurrentConnections = 1;
    s1!.counters.tcpCurrentConnections = 2;
    s0!.counters.tcpMaxConcurrentConnections = 3;
    s1!.counters.tcpMaxConcurrentConnections = 5;
    s0!.counters.tcpAvgQueriesPerConnection = 2;
    s1!.counters.tcpAvgQueriesPerConnection = 4;
    l0.write(rows[0]!);
    l1.write(rows[1]!);
    lc.sumInto(rows, retired);
    expect(sc!.counters.queries).toBe(8);
    expect(sc!.outstanding).toBe(3);
    expect(sc!.tcpCurrentConnections).toBe(3);
    // The most at once in one worker, not the sum of two maxima reached at different times.
    expect(sc!.counters.tcpMaxConcurrentConnections).toBe(5);
    expect(sc!.counters.tcpAvgQueriesPerConnection).toBe(3);
    // Worker 1 dies: its counters and maximum stay, its open connections go.
    lc.retire(rows[1]!, retired);
    lc.sumInto(rows, retired);
    expect(sc!.counters.queries).toBe(8);
    expect(sc!.counters.tcpMaxConcurrentConnections).toBe(5);
    expect(sc!.tcpCurrentConnections).toBe(1);
    await Promise.all([w0.stop(), w1.stop(), control.stop()]);
  });
});
