/**
 * LiveCounters, pure logic over real proxy objects (no sockets, no
 * threads: the three "threads" here are three proxies sharing one buffer):
 * a worker's increments are in the control plane's totals and in every
 * worker's statisticsOf() at once; counters and gauges add up, moving
 * averages are averaged over the workers that have one, high-water marks
 * take the highest; a dead worker's counters stay in the totals; the
 * control plane's own writes count; the objects keep fast properties; the
 * configuration's rules' match counts and its listeners' counters add up
 * the same way.
 */
import { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { AllRule, AllowResponseAction, NoneAction, RuleChains } from '@dnsdist-ts/dataplane/rules/index.js';
import { Rings } from '@dnsdist-ts/dataplane/rings/index.js';
import { layoutObjectsOf } from '@dnsdist-ts/workers/workers/counter-layout.js';
import { LiveCounters } from '@dnsdist-ts/workers/workers/live-counters.js';
import { serverConfigFrom } from '@dnsdist-ts/lua/lua/bind-servers.js';
import { statisticsOf } from '@dnsdist-ts/dataplane/stats/counter-cells.js';
import { DohFrontend } from '@dnsdist-ts/dataplane/doh/doh-frontend.js';
import type { DohFrontendConfig } from '@dnsdist-ts/dataplane/doh/doh-config.js';
import { mirrorWorkerListeners } from '@dnsdist-ts/workers/workers/worker-listeners.js';

async function proxyWithOneServer(): Promise<DnsdistProxy> {
  const p = new DnsdistProxy((c) => new RuleChains(c), new Rings());
  await p.addServer(serverConfigFrom('127.0.0.1:9'));
  return p;
}

/** The proxy's rules as the RuleChains these proxies are built with. */
const chains = (p: DnsdistProxy): RuleChains => p.rules as RuleChains;

const live = (p: DnsdistProxy): LiveCounters => new LiveCounters(LiveCounters.targetsOf(p, layoutObjectsOf(p)));

describe('LiveCounters', () => {
  let proxies: DnsdistProxy[] = [];
  afterEach(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    proxies = [];
  });

  it('shows each increment in the totals at once, in the control plane and in every worker', async () => {
    const [w0, w1, control] = (proxies = await Promise.all([proxyWithOneServer(), proxyWithOneServer(), proxyWithOneServer()]));
    const [l0, l1, lc] = [live(w0!), live(w1!), live(control!)];
    expect(l0.size).toBe(lc.size);
    const buffer = lc.createBuffer(2);
    // What a worker counted before it attached (start-up) comes along.
    w0!.counters.queries = 3;
    lc.attachControlPlane(lc.regions(buffer, 2)!);
    l0.attachWorker(l0.regions(buffer, 2)!, 0);
    expect(control!.counters.queries).toBe(3);
    // Worker 1 has not attached yet: its region does not count.
    l1.attachWorker(l1.regions(buffer, 2)!, 1);

    w0!.counters.queries++;
    w1!.counters.queries += 7;
    expect(control!.counters.queries).toBe(11);
    // Each worker's own object is its share (what the query path adds to); statisticsOf() is the total.
    expect(w1!.counters.queries).toBe(7);
    expect(statisticsOf(w1!.counters).queries).toBe(11);
    expect(statisticsOf(w0!.counters).queries).toBe(11);
    expect({ ...control!.counters }).toMatchObject({ queries: 11 });

    const [s0, s1, sc] = [w0!.servers[0]!, w1!.servers[0]!, control!.servers[0]!];
    s0.outstanding = 2;
    s1.outstanding = 3;
    s0.latencyUsec = 100;
    s1.latencyUsec = 300;
    s0.counters.tcpMaxConcurrentConnections = 4;
    s1.counters.tcpMaxConcurrentConnections = 6;
    w0!.counters.latencyAvg100 = 50;
    expect(sc.outstanding).toBe(5);
    expect(statisticsOf(s0).outstanding).toBe(5);
    expect(sc.latencyUsec).toBe(200);
    expect(sc.counters.tcpMaxConcurrentConnections).toBe(6);
    // An average only one worker has is that worker's, not half of it.
    expect(control!.counters.latencyAvg100).toBe(50);

    // Worker 1 dies: its counters and maximum stay in the totals, its in-flight gauge goes.
    lc.retire(lc.regions(buffer, 2)!, 1);
    expect(control!.counters.queries).toBe(4 + 7);
    expect(statisticsOf(w0!.counters).queries).toBe(11);
    expect(sc.outstanding).toBe(2);
    expect(sc.counters.tcpMaxConcurrentConnections).toBe(6);
    // Its successor starts from zero and adds on top.
    const w2 = await proxyWithOneServer();
    proxies.push(w2);
    const l2 = live(w2);
    l2.attachWorker(l2.regions(buffer, 2)!, 1);
    w2.counters.queries++;
    expect(control!.counters.queries).toBe(12);
    expect(lc.workerValue(lc.regions(buffer, 2)!, 1, control!.counters, 'queries')).toBe(1);

    // The control plane's own writes count too (a counter set to 20 reads 20).
    control!.counters.dynBlocked = 20;
    w0!.counters.dynBlocked++;
    expect(control!.counters.dynBlocked).toBe(21);
  });

  it('leaves out a worker whose layout is not the control plane’s', async () => {
    const [control, other] = (proxies = await Promise.all([proxyWithOneServer(), proxyWithOneServer()]));
    await other!.addServer(serverConfigFrom('127.0.0.1:10'));
    const buffer = live(control!).createBuffer(1);
    expect(live(other!).regions(buffer, 1)).toBeUndefined();
  });

  it('keeps the counters fast properties with one shape for every backend (no dictionary mode)', async () => {
    const [w0] = (proxies = await Promise.all([proxyWithOneServer()]));
    await w0!.addServer(serverConfigFrom('127.0.0.1:10'));
    const l0 = live(w0!);
    l0.attachWorker(l0.regions(l0.createBuffer(1), 1)!, 0);
    // Own enumerable properties, as before: Object.keys, spread and JSON list the counters.
    expect(Object.keys(w0!.counters)).toContain('queries');
    expect(JSON.parse(JSON.stringify(w0!.servers[0]!.counters))).toMatchObject({ queries: 0, drops: 0 });
    // The accessors are shared by the class: two backends' counter objects have the same property descriptors' functions.
    const d = (o: object) => Object.getOwnPropertyDescriptor(o, 'queries')!;
    expect(d(w0!.servers[0]!.counters).get).toBe(d(w0!.servers[1]!.counters).get);
  });

  it("adds up the configuration's rules' match counts (every chain) at once", async () => {
    const [w0, w1, control] = (proxies = await Promise.all([proxyWithOneServer(), proxyWithOneServer(), proxyWithOneServer()]));
    for (const p of [w0!, w1!, control!]) {
      chains(p).query.add(new AllRule(), new NoneAction(), { name: 'q' });
      chains(p).response.add(new AllRule(), new AllowResponseAction(), { name: 'r' });
    }
    const [l0, l1, lc] = [live(w0!), live(w1!), live(control!)];
    const buffer = lc.createBuffer(2);
    lc.attachControlPlane(lc.regions(buffer, 2)!);
    l0.attachWorker(l0.regions(buffer, 2)!, 0);
    l1.attachWorker(l1.regions(buffer, 2)!, 1);
    chains(w0!).query.rules[0]!.hits += 2;
    chains(w1!).query.rules[0]!.hits += 5;
    chains(w1!).response.rules[0]!.hits++;
    expect(chains(control!).query.rules[0]!.hits).toBe(7);
    expect(chains(control!).response.rules[0]!.hits).toBe(1);
    expect(chains(control!).query.show()).toMatch(/^0 +q +7 /m);
    // A dead worker's matches stay in the total.
    lc.retire(lc.regions(buffer, 2)!, 0);
    expect(chains(control!).query.rules[0]!.hits).toBe(7);
  });

  it("adds up the listeners' counters at once, plain and DoH, also once the control plane's mirrors are made again", async () => {
    // Each proxy has one plain listener (the default one, mirrored: only its counters are used) and one DoH listener, never started.
    const withListeners = async (): Promise<DnsdistProxy> => {
      const p = await proxyWithOneServer();
      mirrorWorkerListeners(p, { ports: [53], kinds: ['dgram'] });
      p.dohFrontends.push(
        new DohFrontend({ host: '127.0.0.1', port: 0, certFiles: [] } as unknown as DohFrontendConfig, p.processor, () => {}),
      );
      return p;
    };
    const [w0, w1, control] = (proxies = await Promise.all([withListeners(), withListeners(), withListeners()]));
    const [l0, l1, lc] = [live(w0!), live(w1!), live(control!)];
    expect(lc.size).toBe(l0.size);
    const buffer = lc.createBuffer(2);
    lc.attachControlPlane(lc.regions(buffer, 2)!);
    l0.attachWorker(l0.regions(buffer, 2)!, 0);
    l1.attachWorker(l1.regions(buffer, 2)!, 1);
    const [f0, f1] = [w0!.frontends[0]!, w1!.frontends[0]!];
    f0.udp.queries += 3;
    f1.udp.queries += 4;
    f1.tcp.responses++;
    f0.tcp.currentConnections = 2;
    f1.tcp.currentConnections = 1;
    expect(control!.frontends[0]!.udp.queries).toBe(7);
    expect(control!.frontends[0]!.tcp.responses).toBe(1);
    expect(control!.frontends[0]!.tcp.currentConnections).toBe(3);
    const [d0, d1, dc] = [w0!, w1!, control!].map((p) => p.dohFrontends[0]!.counters);
    d0!.http2.status200 = 4;
    d1!.http2.status200 = 6;
    d0!.currentConnections = 2;
    d1!.currentConnections = 1;
    d0!.maxConcurrentConnections = 3;
    d1!.maxConcurrentConnections = 5;
    expect(dc!.http2.status200).toBe(10);
    expect(dc!.currentConnections).toBe(3);
    expect(dc!.maxConcurrentConnections).toBe(5);
    // The control plane's listener mirrors are made again (the workers' real ports): the new objects read the same totals.
    control!.frontends.length = 0;
    mirrorWorkerListeners(control!, { ports: [5353], kinds: ['dgram'] });
    lc.replaceTargets(LiveCounters.targetsOf(control!, layoutObjectsOf(control!)));
    f0.udp.queries++;
    expect(control!.frontends[0]!.udp.queries).toBe(8);
    // Worker 1 dies: its counts and maximum stay, its connections go.
    lc.retire(lc.regions(buffer, 2)!, 1);
    expect(control!.frontends[0]!.udp.queries).toBe(8);
    expect(control!.frontends[0]!.tcp.currentConnections).toBe(2);
    expect(dc!.maxConcurrentConnections).toBe(5);
    expect(dc!.currentConnections).toBe(2);
  });
});
