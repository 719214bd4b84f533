/**
 * Userspace dynamic blocks with data-plane workers. The control plane's
 * DynamicBlocks is the table of record: dynamic-block groups are applied
 * there over every worker's rings (worker-rings.ts), and addDynBlocks,
 * addDynamicBlock, addDynBlockSMT, clearDynBlocks and the block API change
 * it there, kernel copies included (the kernel maps are the workers' too).
 * Each change is sent to every worker (one postMessage per worker for all
 * the changes of one event-loop turn), which applies it to its own copy of
 * the table, the one its query path checks. A worker that starts (or
 * restarts) gets the whole table. The queries each worker's copy acted on
 * are added to the blocks of record whenever the blocks are listed
 * (showDynBlocks, getDynamicBlocks, the API, /metrics) or the rings read.
 */
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { DNSName } from '@dnsdist-ts/dns';
import {
  chainObservers,
  ClientBlockRange,
  type DynamicBlocks,
  type DynBlock,
  type DynBlockObserver,
} from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import type { DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';

/** A block's key: a client range (network, prefix, port, port bits) or a suffix (wire form). */
export type BlockKeyWire = { range: [Uint8Array, number, number, number] } | { suffix: Uint8Array };

/** A block as sent to the workers; `until` is on the control plane's clock. */
export interface BlockWire {
  key: BlockKeyWire;
  reason: string;
  action: DNSActionCode;
  until: number;
  warning: boolean;
  tag: { name: string; value: string } | undefined;
}

/** The changes of one turn. */
export interface DynBlocksMessage {
  type: 'dynblocks';
  /** Empty the worker's table first (clearDynBlocks, or the whole table for a new worker). */
  reset: boolean;
  remove: BlockKeyWire[];
  set: BlockWire[];
  defaultAction: DNSActionCode;
  /** The control plane's performance.timeOrigin: `until` is converted to the worker's clock with it. */
  timeOrigin: number;
  /** Wall-clock ms (performance.timeOrigin + now) when sent, for the propagation delay. */
  sentAt: number;
}

/** The queries a worker's copy of a block acted on since it last said. */
export interface BlockHits {
  key: BlockKeyWire;
  blocks: number;
}

function keyOf(b: DynBlock): BlockKeyWire {
  if (b.range) return { range: [b.range.network, b.range.prefix, b.range.port, b.range.portBits] };
  return { suffix: new Uint8Array(b.domain!.toWire()) };
}

function rangeOf(r: [Uint8Array, number, number, number]): ClientBlockRange {
  const [network, prefix, port, portBits] = r;
  return network.length === 4 ? ClientBlockRange.of(network, port, prefix, 128, portBits) : ClientBlockRange.of(network, 0, 32, prefix);
}

function nameOf(wire: Uint8Array): DNSName {
  return DNSName.fromWire(wire).name;
}

function wireOf(b: DynBlock): BlockWire {
  return { key: keyOf(b), reason: b.reason, action: b.action, until: b.until, warning: b.warning, tag: b.tag };
}

/** The block of record for a key, if any. */
function blockFor(blocks: DynamicBlocks, key: BlockKeyWire): DynBlock | undefined {
  return 'range' in key ? blocks.clients.get(rangeOf(key.range)) : blocks.suffixes.get(nameOf(key.suffix));
}

/** The control plane's side: sends every change of the table to the workers. */
export class WorkerDynBlocks implements DynBlockObserver {
  readonly #blocks: DynamicBlocks;
  readonly #workers = new Map<number, Worker>();
  readonly #set = new Set<DynBlock>();
  #remove: BlockKeyWire[] = [];
  #reset = false;
  #flushQueued = false;
  #defaultAction: DNSActionCode;
  readonly #timer: NodeJS.Timeout;

  /** Follows `blocks` from now on (its observer is chained, not replaced). */
  constructor(blocks: DynamicBlocks) {
    this.#blocks = blocks;
    this.#defaultAction = blocks.defaultAction;
    blocks.observer = chainObservers(blocks.observer, this);
    // setDynBlocksAction at the console changes a setting, not the table: looked at every 100 ms.
    this.#timer = setInterval(() => {
      if (this.#blocks.defaultAction !== this.#defaultAction) this.#queueFlush();
    }, 100);
    this.#timer.unref();
  }

  /** Worker `index` listens: it gets the whole table, then every change. */
  workerStarted(index: number, worker: Worker): void {
    this.#workers.set(index, worker);
    worker.once('exit', () => {
      if (this.#workers.get(index) === worker) this.#workers.delete(index);
    });
    const all = [...this.#blocks.clients.values(), ...this.#blocks.suffixes.values()].map(wireOf);
    worker.postMessage(this.#message(true, [], all));
  }

  inserted(block: DynBlock): void {
    this.#set.add(block);
    this.#queueFlush();
  }

  removed(block: DynBlock): void {
    this.#set.delete(block);
    this.#remove.push(keyOf(block));
    this.#queueFlush();
  }

  cleared(): void {
    this.#set.clear();
    this.#remove = [];
    this.#reset = true;
    this.#queueFlush();
  }

  /** Add what the workers' copies blocked to the blocks of record. */
  addHits(hits: readonly BlockHits[]): void {
    for (const h of hits) {
      const b = blockFor(this.#blocks, h.key);
      if (b) b.blocks += h.blocks;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #message(reset: boolean, remove: BlockKeyWire[], set: BlockWire[]): DynBlocksMessage {
    return {
      type: 'dynblocks',
      reset,
      remove,
      set,
      defaultAction: this.#blocks.defaultAction,
      timeOrigin: performance.timeOrigin,
      sentAt: performance.timeOrigin + performance.now(),
    };
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // Every change of this turn (a group's apply() may insert thousands) in one message per worker.
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#flushQueued = false;
    this.#defaultAction = this.#blocks.defaultAction;
    const m = this.#message(this.#reset, this.#remove, [...this.#set].map(wireOf));
    this.#reset = false;
    this.#remove = [];
    this.#set.clear();
    for (const w of this.#workers.values()) w.postMessage(m);
  }
}

/**
 * Make a worker's table a copy only: the control plane alone writes the
 * kernel maps, so the worker's table never takes the kernel sink the
 * configuration's setDefaultBPFFilter would give it (it would adopt the
 * kernel's entries as its own, then delete them from the shared maps when
 * the control plane's table replaces its own). Call before the
 * configuration runs.
 */
export function keepKernelOutOfWorkerCopy(blocks: DynamicBlocks): void {
  blocks.setKernelSink = () => {};
}

/** Propagation delays a worker measured (ms from the control plane's send to the table changed here). */
export interface PropagationDelays {
  count: number;
  total: number;
  max: number;
}

/**
 * The worker's side: applies the control plane's changes to its table
 * (the one its query path checks), converting deadlines to its clock.
 * Blocks go in through the same insertion as in one process (quiet, no
 * kernel copy: the control plane made those), so the worker's own
 * housekeeping purges them when they expire.
 */
export function applyDynBlocksMessage(blocks: DynamicBlocks, m: DynBlocksMessage, delays?: PropagationDelays): void {
  const now = performance.now();
  const offset = m.timeOrigin - performance.timeOrigin;
  if (m.reset) blocks.clear();
  for (const key of m.remove) {
    if ('range' in key) blocks.removeClientBlock(rangeOf(key.range));
    else blocks.removeSuffixBlock(nameOf(key.suffix));
  }
  blocks.defaultAction = m.defaultAction;
  for (const w of m.set) {
    const spec = { reason: w.reason, action: w.action, until: w.until + offset, warning: w.warning, tag: w.tag };
    const opts = { now, seconds: Math.max(0, Math.round((spec.until - now) / 1000)), quiet: true, kernelEligible: false };
    if ('range' in w.key) blocks.addOrRefreshClientBlock(rangeOf(w.key.range), spec, opts);
    else blocks.addOrRefreshSuffixBlock(nameOf(w.key.suffix), spec, opts);
  }
  if (delays) {
    const d = performance.timeOrigin + performance.now() - m.sentAt;
    delays.count++;
    delays.total += d;
    if (d > delays.max) delays.max = d;
  }
}

/** The worker's side: the queries each block acted on since the last call, the counts then zeroed. */
export function takeBlockHits(blocks: DynamicBlocks): BlockHits[] {
  const hits: BlockHits[] = [];
  for (const table of [blocks.clients.values(), blocks.suffixes.values()]) {
    for (const b of table) {
      if (b.blocks === 0) continue;
      hits.push({ key: keyOf(b), blocks: b.blocks });
      b.blocks = 0;
    }
  }
  return hits;
}
