/**
 * The dynamic-block table sent to the workers (worker-dyn-blocks.ts), in
 * one thread: the control plane's DynamicBlocks, a worker's DynamicBlocks,
 * and between them a fake Worker that only records what is posted to it
 * (FakeWorkerPort). Every kind of block (address, range, port range, IPv6,
 * suffix, warning, tag) must arrive as it is in the table of record, with
 * removals, clears and the default action, and the worker's counts must
 * come back to the blocks of record.
 */
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { DNSName, parseAddress } from '@dnsdist-ts/dns';
import { ClientBlockRange, DynamicBlocks } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import { ProxyCounters } from '@dnsdist-ts/dataplane/stats/proxy-counters.js';
import {
  applyDynBlocksMessage,
  takeBlockHits,
  WorkerDynBlocks,
  type DynBlocksMessage,
} from '@dnsdist-ts/workers/workers/worker-dyn-blocks.js';
import { waitFor } from '../../proxy/test/support/dns-client.js';

/** A stand-in for a worker thread: keeps what is posted, emits 'exit' on demand. */
class FakeWorkerPort extends EventEmitter {
  readonly posted: DynBlocksMessage[] = [];
  postMessage(m: DynBlocksMessage): void {
    // A real postMessage clones: so does this, so that nothing is shared by reference.
    this.posted.push(structuredClone(m));
  }
}

function table(blocks: DynamicBlocks): string[] {
  const now = performance.now();
  return [...blocks.activeClientBlocks(now), ...blocks.activeSuffixBlocks(now)]
    .map(
      (b) => `${b.keyText()} ${b.action} ${b.warning} ${b.reason} ${b.tag ? `${b.tag.name}=${b.tag.value}` : '-'} ${Math.round(b.until)}`,
    )
    .sort();
}

describe('WorkerDynBlocks', () => {
  const log = new Logger();
  log.sink = () => {};
  let control: DynamicBlocks;
  let worker: DynamicBlocks;
  let fake: FakeWorkerPort;
  let sender: WorkerDynBlocks;

  const deliver = (): void => {
    for (const m of fake.posted.splice(0)) applyDynBlocksMessage(worker, m);
  };
  const flush = (): Promise<void> => new Promise((r) => queueMicrotask(() => r()));

  beforeEach(() => {
    control = new DynamicBlocks(new ProxyCounters(), log);
    worker = new DynamicBlocks(new ProxyCounters(), log);
    fake = new FakeWorkerPort();
    sender = new WorkerDynBlocks(control);
  });
  afterEach(() => sender.stop());

  it('sends the whole table to a worker that starts, then every change of a turn in one message', async () => {
    const now = performance.now();
    const opts = { now, seconds: 60, kernelEligible: false, quiet: true };
    control.addOrRefreshClientBlock(
      ClientBlockRange.of(parseAddress('192.0.2.1').bytes, 0),
      { reason: 'one', action: DNSAction.Refused, until: now + 60_000, warning: false },
      opts,
    );
    await flush();
    sender.workerStarted(0, fake as unknown as Worker);
    expect(fake.posted).toHaveLength(1);
    expect(fake.posted[0]!.reset).toBe(true);
    deliver();
    expect(table(worker)).toEqual(table(control));

    control.addOrRefreshClientBlock(
      ClientBlockRange.of(parseAddress('198.51.100.0').bytes, 0, 24),
      { reason: 'range', action: DNSAction.Drop, until: now + 30_000, warning: true },
      opts,
    );
    control.addOrRefreshClientBlock(
      ClientBlockRange.of(parseAddress('192.0.2.9').bytes, 40000, 32, 128, 2),
      { reason: 'ports', action: DNSAction.Truncate, until: now + 30_000, warning: false },
      opts,
    );
    control.addOrRefreshClientBlock(
      ClientBlockRange.of(parseAddress('2001:db8::').bytes, 0, 32, 48),
      { reason: 'v6', action: DNSAction.NoRecurse, until: now + 30_000, warning: false },
      opts,
    );
    control.addOrRefreshSuffixBlock(
      DNSName.fromString('Bad\\.Dot.Example.'),
      { reason: 'name', action: DNSAction.SetTag, until: now + 30_000, warning: false, tag: { name: 't', value: 'v' } },
      opts,
    );
    control.addOrRefreshSuffixBlock(
      DNSName.fromString('nx.example.'),
      { reason: 'nx', action: DNSAction.Nxdomain, until: now + 30_000, warning: false },
      opts,
    );
    expect(fake.posted).toHaveLength(0);
    await flush();
    expect(fake.posted).toHaveLength(1);
    expect(fake.posted[0]!.set).toHaveLength(5);
    deliver();
    expect(table(worker)).toEqual(table(control));
    expect(table(worker)).toHaveLength(6);

    // Removal and clear.
    control.removeClientBlock(ClientBlockRange.of(parseAddress('192.0.2.1').bytes, 0));
    control.removeSuffixBlock(DNSName.fromString('nx.example.'));
    await flush();
    deliver();
    expect(table(worker)).toEqual(table(control));
    expect(table(worker)).toHaveLength(4);
    control.clear();
    control.addOrRefreshSuffixBlock(
      DNSName.fromString('after.example.'),
      { reason: 'after', action: DNSAction.Drop, until: now + 30_000, warning: false },
      opts,
    );
    await flush();
    deliver();
    expect(table(worker)).toEqual(['after.example. 0 false after - ' + String(Math.round(now + 30_000))]);
  });

  it('follows setDynBlocksAction, and stops sending to a worker that exited', async () => {
    sender.workerStarted(0, fake as unknown as Worker);
    deliver();
    control.defaultAction = DNSAction.Refused;
    await waitFor('the default action to be sent', () => fake.posted.length > 0, 2000);
    deliver();
    expect(worker.defaultAction).toBe(DNSAction.Refused);
    fake.emit('exit', 1);
    control.clear();
    await flush();
    expect(fake.posted).toHaveLength(0);
  });

  it("adds each worker's blocked queries to the blocks of record", () => {
    const now = performance.now();
    const opts = { now, seconds: 60, kernelEligible: false, quiet: true };
    const range = ClientBlockRange.of(parseAddress('192.0.2.1').bytes, 0);
    control.addOrRefreshClientBlock(range, { reason: 'r', action: DNSAction.Drop, until: now + 60_000, warning: false }, opts);
    control.addOrRefreshSuffixBlock(
      DNSName.fromString('x.example.'),
      { reason: 'r', action: DNSAction.Drop, until: now + 60_000, warning: false },
      opts,
    );
    sender.workerStarted(0, fake as unknown as Worker);
    deliver();
    worker.clients.get(range)!.blocks = 7;
    worker.suffixes.get(DNSName.fromString('x.example.'))!.blocks = 3;
    sender.addHits(takeBlockHits(worker));
    sender.addHits(takeBlockHits(worker));
    expect(control.clients.get(range)!.blocks).toBe(7);
    expect(control.suffixes.get(DNSName.fromString('x.example.'))!.blocks).toBe(3);
    expect(worker.clients.get(range)!.blocks).toBe(0);
  });
});
