/**
 * SharedBackendStates, pure logic over real proxy objects (no sockets, no
 * threads: a "control plane" and a "worker" proxy share one buffer): the
 * worker's copy of a backend is up or down as the control plane's is, at
 * once; it reads as forced (so it runs no health check of its own) and a
 * command replayed in the worker does not overwrite the control plane's state.
 */
import { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { RuleChains } from '@dnsdist-ts/dataplane/rules/index.js';
import { Rings } from '@dnsdist-ts/dataplane/rings/index.js';
import { serverConfigFrom } from '@dnsdist-ts/lua/lua/bind-servers.js';
import { SharedBackendStates } from '@dnsdist-ts/workers/workers/shared-backend-states.js';

async function proxyWithOneServer(): Promise<DnsdistProxy> {
  const p = new DnsdistProxy((c) => new RuleChains(c), new Rings());
  await p.addServer(serverConfigFrom('127.0.0.1:9'));
  return p;
}

describe('SharedBackendStates', () => {
  it("makes a worker's backend follow the control plane's verdicts and setUp/setDown at once", async () => {
    const [control, worker] = await Promise.all([proxyWithOneServer(), proxyWithOneServer()]);
    const [c, w] = [control.servers[0]!, worker.servers[0]!];
    c.upStatus = true;
    const buffer = SharedBackendStates.create(control.servers);
    expect(SharedBackendStates.attach(buffer, control.servers, true)).toBe(true);
    expect(SharedBackendStates.attach(buffer, worker.servers, false)).toBe(true);
    expect(w.isUp()).toBe(true);
    // Forced as far as the worker is concerned: its health-check loop leaves it alone.
    expect(w.availability).toBe('up');
    c.upStatus = false;
    expect(w.isUp()).toBe(false);
    expect(w.availability).toBe('down');
    c.availability = 'up';
    expect(w.isUp()).toBe(true);
    // A console command replayed in the worker does not change the control plane's state.
    w.availability = 'down';
    w.upStatus = false;
    expect(c.availability).toBe('up');
    expect(w.isUp()).toBe(true);
    c.availability = 'auto';
    expect(c.availability).toBe('auto');
    expect(w.isUp()).toBe(false);
    await Promise.all([control.stop(), worker.stop()]);
  });

  it('shares nothing when the worker has another number of backends', async () => {
    const [control, worker] = await Promise.all([proxyWithOneServer(), proxyWithOneServer()]);
    await worker.addServer(serverConfigFrom('127.0.0.1:10'));
    const buffer = SharedBackendStates.create(control.servers);
    expect(SharedBackendStates.attach(buffer, worker.servers, false)).toBe(false);
    expect(worker.servers[0]!.followsSharedState).toBe(false);
    await Promise.all([control.stop(), worker.stop()]);
  });
});
