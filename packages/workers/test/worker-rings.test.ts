/**
 * The control plane's copy of a worker's rings (worker-rings.ts), in one
 * thread: a worker's Rings and the control plane's view, with the deltas
 * passed by hand. The copy must hold exactly the worker's entries after
 * incremental pulls, rings that wrapped between two pulls included.
 */
import { Rings } from '@dnsdist-ts/dataplane/rings/rings.js';
import { ringDelta, ringShareOfWorker, takeRingShare, WorkerRingsView } from '@dnsdist-ts/workers/workers/worker-rings.js';
import { BACKEND, makeQuery, makeResponse } from '../../proxy/test/rings/ring-fixtures.js';

function entries(rings: Rings): string[] {
  const out: string[] = [];
  rings.forEachQuery((e) => out.push(`q ${e.qname} ${e.client?.toStringWithPort() ?? '-'} ${e.time} ${e.id}`));
  rings.forEachResponse((e) => out.push(`r ${e.qname} ${e.rcode} ${e.latencyUsec} ${e.server?.name ?? '-'} ${e.time}`));
  return out.sort();
}

function record(rings: Rings, from: number, n: number): void {
  for (let i = from; i < from + n; i++) {
    const dq = makeQuery({ name: `n${i}.example.`, client: `192.0.2.${i % 7}`, port: 1000 + i, id: i, at: i });
    rings.recordQuery(dq);
    rings.recordResponse(makeResponse(dq, { latencyUsec: i * 10 }), i + 0.5);
  }
}

describe('WorkerRingsView', () => {
  it('gives each worker its share of the configured size', () => {
    expect(ringShareOfWorker(10_000, 10, 2)).toEqual({ capacity: 5000, shards: 5 });
    expect(ringShareOfWorker(10_000, 10, 3)).toEqual({ capacity: 3333, shards: 4 });
    expect(ringShareOfWorker(100, 1, 4)).toEqual({ capacity: 25, shards: 1 });
    const rings = new Rings(80, 8);
    takeRingShare(rings, 2);
    expect([rings.capacity, rings.getNumberOfShards()]).toEqual([40, 4]);
  });

  it('copies what a worker recorded since the last pull, wrapped rings included, and reads it like the worker', () => {
    const worker = new Rings(80, 8);
    takeRingShare(worker, 2);
    const control = new Rings(80, 8);
    const view = new WorkerRingsView(control, 2, () => [BACKEND]);
    const pull = (): number => {
      const delta = ringDelta(worker, view.request(0), [BACKEND]);
      view.apply(0, delta);
      return delta.queries.reduce((n, d) => n + d.seq.length, 0);
    };

    record(worker, 0, 25);
    expect(pull()).toBe(25);
    expect(entries(control)).toEqual(entries(worker));
    // Nothing new: nothing sent.
    expect(pull()).toBe(0);
    // 30 more in 4 shards of 10: every shard wraps; only what is still held is sent.
    record(worker, 25, 30);
    expect(pull()).toBe(30);
    expect(entries(control)).toEqual(entries(worker));
    expect(control.getNumberOfQueryEntries()).toBe(40);
    expect(control.topClients(10)).toBe(worker.topClients(10));
    expect(control.grepq('192.0.2.3', 0, 100)).toBe(worker.grepq('192.0.2.3', 0, 100));
    expect(control.exceedQRate(0, 1000, 60)).toEqual(worker.exceedQRate(0, 1000, 60));

    // The worker went: its copy goes too, and a new worker's rings are copied from the start.
    view.forget(0);
    expect(control.getNumberOfQueryEntries()).toBe(0);
    expect(pull()).toBe(40);
    expect(entries(control)).toEqual(entries(worker));
  });

  it('pulls before every reading when asked to', () => {
    const worker = new Rings(20, 2);
    takeRingShare(worker, 2);
    const control = new Rings(20, 2);
    const view = new WorkerRingsView(control, 2, () => []);
    let pulls = 0;
    control.beforeRead = () => {
      pulls++;
      view.apply(1, ringDelta(worker, view.request(1), []));
    };
    record(worker, 0, 3);
    expect(control.getNumberOfQueryEntries()).toBe(3);
    expect(control.topClients(10)).toBe(worker.topClients(10));
    expect(pulls).toBe(2);
  });
});
