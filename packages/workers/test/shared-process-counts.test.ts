/**
 * The process-wide counts the data-plane workers share: views of one
 * buffer (as two workers have) count a client's TCP connections and a
 * listener's once, so that setMaxTCPConnectionsPerClient and
 * maxConcurrentTCPConnections limit the total; a dead worker's
 * connections leave the totals (releaseWorker); the roundrobin position
 * is one word of the same buffer.
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { NOT_COUNTED, REFUSED } from '@dnsdist-ts/dataplane/server/process-wide-counts.js';
import { SharedProcessWideCounts } from '@dnsdist-ts/workers/workers/shared-process-counts.js';

const v4 = (a: string): Uint8Array => Uint8Array.from(a.split('.').map(Number));
const v6 = Uint8Array.from(Buffer.from('20010db8000000000000000000000001', 'hex'));

function twoWorkers(): { buffer: SharedArrayBuffer; w0: SharedProcessWideCounts; w1: SharedProcessWideCounts } {
  const buffer = SharedProcessWideCounts.allocate(2);
  return { buffer, w0: new SharedProcessWideCounts(buffer, 2, 0), w1: new SharedProcessWideCounts(buffer, 2, 1) };
}

describe('SharedProcessWideCounts', () => {
  it("counts a client's connections over every worker against setMaxTCPConnectionsPerClient", () => {
    const { w0, w1 } = twoWorkers();
    const client = v4('192.0.2.1');
    const held = [
      w0.clientConnections.acquire(client, 3),
      w1.clientConnections.acquire(client, 3),
      w0.clientConnections.acquire(client, 3),
    ];
    expect(held.every((h) => h >= 0)).toBe(true);
    expect(w1.clientConnections.acquire(client, 3)).toBe(REFUSED);
    expect(w0.clientConnections.acquire(client, 3)).toBe(REFUSED);
    // Other clients, IPv6 too, have counts of their own.
    expect(w1.clientConnections.acquire(v4('192.0.2.2'), 3)).toBeGreaterThanOrEqual(0);
    expect(w1.clientConnections.acquire(v6, 1)).toBeGreaterThanOrEqual(0);
    expect(w0.clientConnections.acquire(v6, 1)).toBe(REFUSED);
    // One closing in worker 0 lets one more in, in worker 1.
    w0.clientConnections.release(client, held[0]!);
    const again = w1.clientConnections.acquire(client, 3);
    expect(again).toBeGreaterThanOrEqual(0);
    expect(w0.clientConnections.acquire(client, 3)).toBe(REFUSED);
  });

  it('counts nothing without a limit', () => {
    const { w0 } = twoWorkers();
    for (let i = 0; i < 5; i++) expect(w0.clientConnections.acquire(v4('192.0.2.1'), 0)).toBe(NOT_COUNTED);
    w0.clientConnections.release(v4('192.0.2.1'), NOT_COUNTED);
    expect(w0.clientConnections.acquire(v4('192.0.2.1'), 1)).toBeGreaterThanOrEqual(0);
  });

  it("counts a listener's connections over every worker against maxConcurrentTCPConnections, plain and TLS apart", () => {
    const { buffer, w0, w1 } = twoWorkers();
    const [a, b] = [w0.listenerConnections('plain', 0)!, w1.listenerConnections('plain', 0)!];
    expect([a.acquire(2), b.acquire(2), b.acquire(2), a.acquire(2)]).toEqual([true, true, false, false]);
    expect(SharedProcessWideCounts.listenerTotal(buffer, 2, 'plain', 0)).toBe(2);
    expect(w0.listenerConnections('tls', 0)!.acquire(1)).toBe(true);
    expect(w1.listenerConnections('plain', 1)!.acquire(1)).toBe(true);
    a.release();
    expect(b.acquire(2)).toBe(true);
    // Listeners past the shared ones count per worker (the caller's own count).
    expect(w0.listenerConnections('plain', 128)).toBeUndefined();
  });

  it("counts an addDOHLocal listener apart from the others, shows its total open, and takes a dead worker's share off it", () => {
    const { buffer, w0, w1 } = twoWorkers();
    const [a, b] = [w0.listenerConnections('doh', 0)!, w1.listenerConnections('doh', 0)!];
    expect(w0.listenerConnections('plain', 0)!.acquire(1)).toBe(true);
    expect([a.acquire(2), b.acquire(2), a.acquire(2), b.acquire(2)]).toEqual([true, true, false, false]);
    expect([a.open, b.open]).toEqual([2, 2]);
    SharedProcessWideCounts.releaseWorker(buffer, 2, 0);
    expect(SharedProcessWideCounts.listenerTotal(buffer, 2, 'doh', 0)).toBe(1);
    expect(b.open).toBe(1);
    expect(w0.listenerConnections('doh', 128)).toBeUndefined();
  });

  it("takes a dead worker's connections off the totals, leaving the other worker's", () => {
    const { buffer, w0, w1 } = twoWorkers();
    const client = v4('198.51.100.7');
    const listener0 = w0.listenerConnections('plain', 0)!;
    expect([w0.clientConnections.acquire(client, 2), w0.clientConnections.acquire(client, 2)].every((h) => h >= 0)).toBe(true);
    expect([listener0.acquire(3), listener0.acquire(3), w1.listenerConnections('plain', 0)!.acquire(3)]).toEqual([true, true, true]);
    expect(w1.clientConnections.acquire(client, 2)).toBe(REFUSED);
    SharedProcessWideCounts.releaseWorker(buffer, 2, 0);
    expect(SharedProcessWideCounts.listenerTotal(buffer, 2, 'plain', 0)).toBe(1);
    // Worker 0's replacement counts from zero, worker 1's connection still counts.
    const replacement = new SharedProcessWideCounts(buffer, 2, 0);
    expect([replacement.clientConnections.acquire(client, 2), w1.clientConnections.acquire(client, 2)].every((h) => h >= 0)).toBe(true);
    expect(replacement.clientConnections.acquire(client, 2)).toBe(REFUSED);
    expect([replacement.listenerConnections('plain', 0)!.acquire(3), w1.listenerConnections('plain', 0)!.acquire(3)]).toEqual([true, true]);
    expect(replacement.listenerConnections('plain', 0)!.acquire(3)).toBe(false);
  });

  it('gives a slot with no connection left to the next new client, and the old client one again', () => {
    const { w0, w1 } = twoWorkers();
    // More clients than slots come and go: slots are taken over, never exhausted.
    const c = new Uint8Array(4);
    let refused = 0;
    for (let i = 0; i < 70_000; i++) {
      c.set([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]);
      const h = (i & 1 ? w0 : w1).clientConnections.acquire(c, 1);
      if (h < 0) refused++;
      else (i & 1 ? w0 : w1).clientConnections.release(c, h);
    }
    expect(refused).toBe(0);
    expect(w0.clientConnections.acquire(v4('10.0.0.0'), 1)).toBeGreaterThanOrEqual(0);
  });

  it('never lets two threads racing for the same client and listener past the limits (real worker threads)', async () => {
    // The threads run the built module (dist/): `make` first.
    const built = new URL('../dist/workers/shared-process-counts.js', import.meta.url);
    if (!existsSync(built)) throw new Error(`${built.pathname} is missing: run make first`);
    const buffer = SharedProcessWideCounts.allocate(2);
    // [0]: connections held now (client), [1]: the most seen at once, [2]: listener held now, [3]: its most.
    const probe = new Int32Array(new SharedArrayBuffer(16));
    const code = `
      const { workerData: d } = require('node:worker_threads');
      import(d.module).then(({ SharedProcessWideCounts }) => {
        const counts = new SharedProcessWideCounts(d.buffer, 2, d.worker);
        const listener = counts.listenerConnections('plain', 0);
        const client = new Uint8Array([192, 0, 2, 1]);
        const probe = new Int32Array(d.probe);
        const bump = (i) => { const n = Atomics.add(probe, i, 1) + 1; for (let m = Atomics.load(probe, i + 1); n > m && Atomics.compareExchange(probe, i + 1, m, n) !== m; m = Atomics.load(probe, i + 1)); };
        for (let i = 0; i < 200000; i++) {
          const h = counts.clientConnections.acquire(client, 2);
          if (h >= 0) { bump(0); Atomics.sub(probe, 0, 1); counts.clientConnections.release(client, h); }
          if (listener.acquire(3)) { bump(2); Atomics.sub(probe, 2, 1); listener.release(); }
        }
        process.exit(0);
      });`;
    const run = (worker: number): Promise<number> =>
      new Promise((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { module: built.href, buffer, probe: probe.buffer, worker } });
        w.once('error', reject);
        w.once('exit', resolve);
      });
    expect(await Promise.all([run(0), run(1)])).toEqual([0, 0]);
    expect(Atomics.load(probe, 1)).toBeLessThanOrEqual(2);
    expect(Atomics.load(probe, 3)).toBeLessThanOrEqual(3);
    // Everything released: the totals are back to 0, so the limits are whole again.
    expect(SharedProcessWideCounts.listenerTotal(buffer, 2, 'plain', 0)).toBe(0);
    const view = new SharedProcessWideCounts(buffer, 2, 0);
    expect(
      [view.clientConnections.acquire(v4('192.0.2.1'), 2), view.clientConnections.acquire(v4('192.0.2.1'), 2)].every((h) => h >= 0),
    ).toBe(true);
    expect(view.clientConnections.acquire(v4('192.0.2.1'), 2)).toBe(REFUSED);
  }, 60_000);

  it('shares the roundrobin position, and refuses a buffer of another size', () => {
    const { w0, w1 } = twoWorkers();
    Atomics.add(w0.roundRobinPosition, 0, 5);
    expect(Atomics.load(w1.roundRobinPosition, 0)).toBe(5);
    expect(() => new SharedProcessWideCounts(SharedProcessWideCounts.allocate(2), 3, 0)).toThrow(/3 workers/);
  });
});
