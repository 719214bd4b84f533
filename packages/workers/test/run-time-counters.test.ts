/**
 * RunTimeCounters, pure logic over real proxy objects (no sockets, no
 * threads: the three "threads" here are three proxies sharing one buffer):
 * the counters of backends and rules added at the console read the total
 * over the workers at once, also while the workers are one change behind
 * the control plane (each region is read by its own generation's layout);
 * counters and gauges add up, high-water marks take the highest; a dead
 * worker's counters stay; a removed backend's late counts stay out; the
 * control plane's own writes count; a worker's statisticsOf() reads the
 * totals too.
 */
import { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { AllRule, NoneAction, RuleChains } from '@dnsdist-ts/dataplane/rules/index.js';
import { Rings } from '@dnsdist-ts/dataplane/rings/index.js';
import { layoutObjectsOf } from '@dnsdist-ts/workers/workers/counter-layout.js';
import { RUN_TIME_REGION, RunTimeCounters } from '@dnsdist-ts/workers/workers/run-time-counters.js';
import { serverConfigFrom } from '@dnsdist-ts/lua/lua/bind-servers.js';
import { statisticsOf } from '@dnsdist-ts/dataplane/stats/counter-cells.js';

async function proxyWithOneServer(): Promise<DnsdistProxy> {
  const p = new DnsdistProxy((c) => new RuleChains(c), new Rings());
  await p.addServer(serverConfigFrom('127.0.0.1:9'));
  return p;
}

describe('RunTimeCounters', () => {
  let proxies: DnsdistProxy[] = [];
  afterEach(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    proxies = [];
  });

  it('adds up the counters of backends and rules added at the console at once, across a change the workers run later', async () => {
    const [w0, w1, control] = (proxies = await Promise.all([proxyWithOneServer(), proxyWithOneServer(), proxyWithOneServer()]));
    const [r0, r1, rc] = [w0!, w1!, control!].map((p) => new RunTimeCounters(layoutObjectsOf(p)));
    const buffer = new SharedArrayBuffer(2 * RUN_TIME_REGION * 8);
    const regions = [RunTimeCounters.region(buffer, 0), RunTimeCounters.region(buffer, 1)];
    rc!.attachControlPlane(regions);
    r0!.workerRan(w0!, 0, regions, 0);
    r1!.workerRan(w1!, 0, regions, 1);

    // Change 1, a backend added at the console: the control plane runs it first, then worker 0; worker 1 later.
    const [a0, a1, ac] = await Promise.all([w0!, w1!, control!].map((p) => p.addServer(serverConfigFrom('127.0.0.1:10'))));
    rc!.controlPlaneRan(control!, 1);
    r0!.workerRan(w0!, 1, regions, 0);
    a0!.counters.queries += 3;
    expect(ac!.counters.queries).toBe(3);
    r1!.workerRan(w1!, 1, regions, 1);
    a1!.counters.queries += 4;
    a0!.outstanding = 2;
    a1!.outstanding = 1;
    a0!.counters.tcpMaxConcurrentConnections = 3;
    a1!.counters.tcpMaxConcurrentConnections = 5;
    expect(ac!.counters.queries).toBe(7);
    expect(ac!.outstanding).toBe(3);
    expect(ac!.counters.tcpMaxConcurrentConnections).toBe(5);
    // In a worker, statisticsOf() (Server:getOutstanding() from a LuaAction) reads the same totals.
    expect(statisticsOf(a0!.counters).queries).toBe(7);
    expect(statisticsOf(a1!).outstanding).toBe(3);
    // The configuration's backend is not theirs (live-counters.ts).
    expect(control!.servers[0]!.counters.queries).toBe(0);

    // Change 2, a rule added: worker 0 lays its region out again, worker 1 is still at change 1. Both keep counting.
    for (const p of [control!, w0!, w1!]) (p.rules as RuleChains).query.add(new AllRule(), new NoneAction(), { name: 'added' });
    rc!.controlPlaneRan(control!, 2);
    r0!.workerRan(w0!, 2, regions, 0);
    a0!.counters.queries++;
    a1!.counters.queries++;
    (w0!.rules as RuleChains).query.rules[0]!.hits += 2;
    expect(ac!.counters.queries).toBe(9);
    expect((control!.rules as RuleChains).query.rules[0]!.hits).toBe(2);
    r1!.workerRan(w1!, 2, regions, 1);
    (w1!.rules as RuleChains).query.rules[0]!.hits++;
    expect((control!.rules as RuleChains).query.rules[0]!.hits).toBe(3);
    expect(ac!.counters.queries).toBe(9);

    // The control plane's own counts (a DoH health check's connection) add on top.
    ac!.counters.tcpNewConnections++;
    a1!.counters.tcpNewConnections++;
    expect(ac!.counters.tcpNewConnections).toBe(2);

    // Worker 1 dies: its counts and maximum stay, its in-flight gauge goes.
    rc!.retire(1);
    expect(ac!.counters.queries).toBe(9);
    expect(ac!.counters.tcpMaxConcurrentConnections).toBe(5);
    expect(ac!.outstanding).toBe(2);
    expect((control!.rules as RuleChains).query.rules[0]!.hits).toBe(3);

    // Change 3 removes the backend: a query still in flight in worker 0 counts on its own object, not on the rule's cells.
    control!.removeServer(ac!);
    w0!.removeServer(a0!);
    rc!.controlPlaneRan(control!, 3);
    r0!.workerRan(w0!, 3, regions, 0);
    a0!.counters.queries += 100;
    expect(a0!.counters.queries).toBe(104);
    expect((control!.rules as RuleChains).query.rules[0]!.hits).toBe(3);
    (w0!.rules as RuleChains).query.rules[0]!.hits++;
    expect((control!.rules as RuleChains).query.rules[0]!.hits).toBe(4);
  });
});
