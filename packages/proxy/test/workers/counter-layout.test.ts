/**
 * CounterLayout, pure logic over real proxy objects (no sockets): each
 * worker's row, the control plane's sums (counters add up, gauges add up,
 * the highest maximum), and a dead worker's counters kept so the totals
 * never go back. The global and configured backends' counters are read
 * live instead (live-counters.test.ts).
 */
import { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { RuleChains } from '@dnsdist-ts/dataplane/rules/index.js';
import { Rings } from '@dnsdist-ts/dataplane/rings/index.js';
import { CounterLayout } from '../../src/workers/counter-layout.js';
import { serverConfigFrom } from '../../src/lua/bind-servers.js';
import { DohFrontend } from '@dnsdist-ts/dataplane/doh/doh-frontend.js';
import type { DohFrontendConfig } from '@dnsdist-ts/dataplane/doh/doh-config.js';

async function proxyWithOneServer(): Promise<DnsdistProxy> {
  const p = new DnsdistProxy((c) => new RuleChains(c), new Rings());
  await p.addServer(serverConfigFrom('127.0.0.1:9'));
  return p;
}

describe('CounterLayout', () => {
  it('leaves the global and backend counters to the live counters, but copies those of backends added at run time', async () => {
    const [w0, control] = await Promise.all([proxyWithOneServer(), proxyWithOneServer()]);
    const l0 = new CounterLayout(w0);
    const lc = new CounterLayout(control);
    expect(l0.size).toBe(lc.size);
    // Only the listeners and rules remain (none here): the rest is read live (live-counters.ts).
    expect(lc.identities().filter((s) => s.target === control.counters || s.target === control.servers[0])).toEqual([]);
    // A backend added at the console is not in the live layout: its counters are copied (run-time-counters.ts).
    const runTime = (p: DnsdistProxy) => new CounterLayout(p, { servers: p.servers, rules: [], withGlobals: false });
    const [r0, rc] = [runTime(w0), runTime(control)];
    const rows = [new Float64Array(rc.rowLength)];
    w0.servers[0]!.counters.queries = 5;
    w0.servers[0]!.outstanding = 2;
    r0.write(rows[0]!);
    rc.sumInto(rows, new Float64Array(rc.rowLength));
    expect(control.servers[0]!.counters.queries).toBe(5);
    expect(control.servers[0]!.outstanding).toBe(2);
    await Promise.all([w0.stop(), control.stop()]);
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
