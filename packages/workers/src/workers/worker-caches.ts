/**
 * Packet caches with several data-plane workers. Each worker runs the
 * configuration, so it holds its own copy of every packet cache the
 * configuration attaches to a pool, and the copies share their entries
 * (worker-cache-sharing.ts): together they are one cache, as dnsdist's.
 * The control plane's copies answer no query. This file makes the control
 * plane's copy of each cache stand for the workers' (PacketCache.replicas):
 *
 * - statistics: each worker's caches keep their counters and their entry
 *   count in its row of a SharedArrayBuffer (PacketCache.countInto,
 *   countEntriesInto: written by the query path itself, at every change);
 *   the control plane adds the rows up when asked, so the figures are
 *   current when a client has its answer, and `pc:getStats()`, `printStats()`,
 *   `toString()`, `showPools()`, the API and /metrics show totals. The
 *   entries are the fullest copy's (the copies hold the same entries),
 *   out of the configured maxEntries. A worker that dies leaves its
 *   counters behind, so totals never go back.
 * - console methods (`expunge`, `expungeByName`, `purgeExpired`, `dump`):
 *   sent to every running worker (postMessage) and waited for on a reply
 *   word each worker sets (Atomics.wait: the console prints one result, as
 *   dnsdist does, and once it returns no worker serves what was removed).
 *   The number removed is the most any copy removed (what one cache lost);
 *   `dump` writes one copy.
 *
 * The caches are matched across threads by position: the distinct caches
 * of the pools, in the pools' creation order, which is the same in every
 * thread that ran the same configuration.
 */
import { DNSName } from '@dnsdist-ts/dns';
import {
  appendPacketCacheDump,
  PACKET_CACHE_COUNTERS,
  PacketCache,
  writePacketCacheDump,
  type PacketCacheReplicas,
  type PacketCacheStats,
} from '@dnsdist-ts/dataplane/cache/index.js';
import { sharingBuffers, type CacheSharingBuffers } from './worker-cache-sharing.js';

/** Per cache in a worker's row: counters first (kept when a worker dies), then the entry count (a gauge). */
const COUNTERS = PACKET_CACHE_COUNTERS;
const ENTRIES = COUNTERS.length;
const FIELDS = COUNTERS.length + 1;
/** Row header: [cache count], so a row written by a worker with other caches is told apart and left out. */
const HEADER = 1;
/** How long the control plane waits for one worker to carry out a console operation. */
export const CACHE_REPLY_TIMEOUT_MS = 5000;

/** What the console asks of every worker's copy of one cache. */
export type CacheOperation =
  | { op: 'expunge'; upTo: number }
  | { op: 'purgeExpired'; upTo: number }
  | { op: 'expungeByName'; name: Uint8Array; qtype: number; suffixMatch: boolean }
  | { op: 'dump'; path: string };

/** Control plane → worker: carry out `operation` on copy `cache`, then set reply word `seq`. */
export interface CacheRequest {
  type: 'cache';
  seq: number;
  cache: number;
  operation: CacheOperation;
}

/** The shared memory of the caches' statistics and of the replies, given to each worker at start. */
export interface WorkerCacheBuffers {
  caches: number;
  stats: SharedArrayBuffer;
  replies: SharedArrayBuffer;
  /** How the workers' copies share their entries. */
  sharing: CacheSharingBuffers;
}

/** A worker did not carry out a cache operation; says which, and what became of its copy. */
export class WorkerCacheOperationError extends Error {
  readonly worker: number;
  constructor(what: string, worker: number, why: string) {
    super(`${what}: data-plane worker ${worker} ${why}`);
    this.name = 'WorkerCacheOperationError';
    this.worker = worker;
  }
}

/** The packet caches of a configuration, as every thread lists them: each pool's cache once, in pool order. */
export function configurationCaches(pools: Iterable<{ cache?: unknown }>): PacketCache[] {
  const caches: PacketCache[] = [];
  for (const pool of pools) {
    const c = pool.cache;
    if (c instanceof PacketCache && !caches.includes(c)) caches.push(c);
  }
  return caches;
}

function rowLength(caches: number): number {
  return HEADER + caches * FIELDS;
}

/** Reply area: an Int32 pair per worker [seq, status] (status 0: done, else failed), then a Float64 result per worker. */
class Replies {
  readonly words: Int32Array;
  readonly values: Float64Array;
  constructor(buffer: SharedArrayBuffer, workers: number) {
    this.words = new Int32Array(buffer, 0, workers * 2);
    this.values = new Float64Array(buffer, workers * 8, workers);
  }
  static bytes(workers: number): number {
    return workers * 8 + workers * 8;
  }
}

/** How the control plane reaches a worker: post a request, or say it is not there to answer. */
export interface WorkerLink {
  readonly count: number;
  /** Post to worker `index` if it runs; false when it is starting, restarting or gone. */
  post(index: number, request: CacheRequest): boolean;
}

/** Control-plane side: the workers' copies of each cache, reached through the control plane's PacketCache objects. */
export class WorkerCaches {
  readonly caches: readonly PacketCache[];
  readonly buffers: WorkerCacheBuffers;
  readonly #rows: Float64Array[] = [];
  readonly #retired: Float64Array;
  readonly #replies: Replies;
  readonly #generations: Int32Array;
  #link: WorkerLink | undefined;
  #seq = 0;

  constructor(caches: readonly PacketCache[], workers: number) {
    this.caches = caches;
    const len = rowLength(caches.length);
    this.buffers = {
      caches: caches.length,
      stats: new SharedArrayBuffer(workers * len * 8),
      replies: new SharedArrayBuffer(Replies.bytes(workers)),
      sharing: sharingBuffers(workers, caches.length),
    };
    this.#generations = new Int32Array(this.buffers.sharing.generations);
    for (let i = 0; i < workers; i++) this.#rows.push(new Float64Array(this.buffers.stats, i * len * 8, len));
    this.#retired = new Float64Array(len);
    this.#replies = new Replies(this.buffers.replies, workers);
  }

  /** From now on each cache's statistics and console methods are the workers' copies'. */
  attach(link: WorkerLink): void {
    this.#link = link;
    this.caches.forEach((cache, i) => {
      cache.replicas = this.#replicasOf(i);
    });
  }

  /** Worker `index` died: keep its counters in the totals; its copies' entries went with it. */
  retire(index: number): void {
    const row = this.#rows[index];
    if (!row || row[0] !== this.caches.length) return;
    for (let c = 0; c < this.caches.length; c++) {
      for (let f = 0; f < COUNTERS.length; f++) this.#retired[HEADER + c * FIELDS + f]! += row[HEADER + c * FIELDS + f]!;
    }
    row.fill(0);
  }

  /** Cache `i`'s statistics: every worker's counters added up, the fullest copy's entries. */
  stats(i: number): PacketCacheStats {
    const sum = new Float64Array(FIELDS);
    const base = HEADER + i * FIELDS;
    for (const row of this.#rows) {
      if (row[0] !== this.caches.length) continue;
      for (let f = 0; f < COUNTERS.length; f++) sum[f]! += row[base + f]!;
      sum[ENTRIES] = Math.max(sum[ENTRIES]!, row[base + ENTRIES]!);
    }
    for (let f = 0; f < COUNTERS.length; f++) sum[f]! += this.#retired[base + f]!;
    return {
      entries: sum[ENTRIES]!,
      maxEntries: this.caches[i]!.maxEntries,
      hits: sum[0]!,
      misses: sum[1]!,
      deferredInserts: 0,
      deferredLookups: 0,
      lookupCollisions: sum[2]!,
      insertCollisions: sum[3]!,
      ttlTooShorts: sum[4]!,
    };
  }

  /** Cache `i`'s statistics as each worker's copy last published them (undefined: nothing published); for tests and diagnostics. */
  workerStats(i: number): Array<Pick<PacketCacheStats, 'entries' | 'hits' | 'misses'> | undefined> {
    const base = HEADER + i * FIELDS;
    return this.#rows.map((row) =>
      row[0] !== this.caches.length ? undefined : { hits: row[base]!, misses: row[base + 1]!, entries: row[base + ENTRIES]! },
    );
  }

  #replicasOf(i: number): PacketCacheReplicas {
    // Entries inserted before an expunge and still on their way to the other workers are dropped on arrival.
    const expunging = (): void => void Atomics.add(this.#generations, i, 1);
    return {
      getStats: () => this.stats(i),
      expunge: (upTo) => {
        expunging();
        return this.everyWorker('PacketCache:expunge', i, { op: 'expunge', upTo });
      },
      purgeExpired: (upTo) => this.everyWorker('PacketCache:purgeExpired', i, { op: 'purgeExpired', upTo }),
      expungeByName: (name: DNSName, qtype, suffixMatch) => {
        expunging();
        return this.everyWorker('PacketCache:expungeByName', i, { op: 'expungeByName', name: name.toWire(), qtype, suffixMatch });
      },
      dump: (path) => {
        // The file and its header as dnsdist writes them (and its error text when it cannot be created), then one copy's entries.
        const created = writePacketCacheDump(path, []);
        if (!created.startsWith('Dumped ')) return created;
        for (let w = 0; w < this.#rows.length; w++) {
          const dumped = this.#call('PacketCache:dump', w, i, { op: 'dump', path });
          if (dumped !== undefined) return `Dumped ${dumped} records\n`;
        }
        return created;
      },
    };
  }

  /**
   * Carry out `operation` on every running worker's copy of cache `i`, all
   * at once; the largest of their results (the copies hold the same
   * entries: what one cache lost). A worker that is restarting is skipped
   * (its new copy starts empty).
   *
   * @throws WorkerCacheOperationError when a worker fails or does not answer in time.
   */
  everyWorker(what: string, i: number, operation: CacheOperation): number {
    const pending: Array<{ worker: number; seq: number }> = [];
    for (let w = 0; w < this.#rows.length; w++) {
      const seq = this.#send(w, i, operation);
      if (seq !== undefined) pending.push({ worker: w, seq });
    }
    let most = 0;
    for (const p of pending) most = Math.max(most, this.#await(what, p.worker, p.seq));
    return most;
  }

  /** One worker, waited for; undefined when it is not running. */
  #call(what: string, worker: number, i: number, operation: CacheOperation): number | undefined {
    const seq = this.#send(worker, i, operation);
    return seq === undefined ? undefined : this.#await(what, worker, seq);
  }

  #send(worker: number, cache: number, operation: CacheOperation): number | undefined {
    // Sequence numbers stay positive Int32s; a late reply to an earlier request never matches a later one.
    this.#seq = this.#seq >= 0x7fffffff ? 1 : this.#seq + 1;
    const seq = this.#seq;
    return this.#link?.post(worker, { type: 'cache', seq, cache, operation }) ? seq : undefined;
  }

  #await(what: string, worker: number, seq: number): number {
    const words = this.#replies.words;
    const deadline = performance.now() + CACHE_REPLY_TIMEOUT_MS;
    for (;;) {
      const seen = Atomics.load(words, worker * 2);
      if (seen === seq) break;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new WorkerCacheOperationError(
          what,
          worker,
          `did not answer within ${CACHE_REPLY_TIMEOUT_MS / 1000} s; its copy of the cache may not have changed (run it again)`,
        );
      }
      Atomics.wait(words, worker * 2, seen, left);
    }
    if (Atomics.load(words, worker * 2 + 1) !== 0) {
      throw new WorkerCacheOperationError(what, worker, 'could not carry it out on its copy of the cache (see the log)');
    }
    return this.#replies.values[worker]!;
  }
}

/** Worker side: this worker's copies, published into its row and changed when the control plane asks. */
export class WorkerCacheCopies {
  readonly #caches: readonly PacketCache[];
  readonly #index: number;
  readonly #row: Float64Array | undefined;
  readonly #replies: Replies;

  /**
   * @param caches this worker's configurationCaches()
   * @param workers how many workers share the buffers
   */
  constructor(caches: readonly PacketCache[], buffers: WorkerCacheBuffers, index: number, workers: number) {
    this.#caches = caches;
    this.#index = index;
    const len = rowLength(buffers.caches);
    // A worker whose configuration made other caches publishes nothing (the control plane would add up the wrong caches).
    this.#row = caches.length === buffers.caches ? new Float64Array(buffers.stats, index * len * 8, len) : undefined;
    this.#replies = new Replies(buffers.replies, workers);
    const row = this.#row;
    if (row) {
      // The counters and the entry counts live in the row itself: the control plane's sum is current at every read.
      caches.forEach((cache, c) => {
        cache.countInto(row.subarray(HEADER + c * FIELDS, HEADER + c * FIELDS + COUNTERS.length));
        cache.countEntriesInto(row.subarray(HEADER + c * FIELDS + ENTRIES, HEADER + c * FIELDS + ENTRIES + 1));
      });
      row[0] = caches.length;
    }
  }

  /** False when this worker's caches do not match the control plane's (its statistics are left out). */
  get matches(): boolean {
    return this.#row !== undefined;
  }

  /**
   * Carry out a request and set the reply word. Returns the error when it
   * failed (the caller logs it; the control plane reports the failure).
   */
  handle(request: CacheRequest): Error | undefined {
    let value = 0;
    let failure: Error | undefined;
    try {
      value = this.#run(request);
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
    }
    const words = this.#replies.words;
    this.#replies.values[this.#index] = value;
    Atomics.store(words, this.#index * 2 + 1, failure ? 1 : 0);
    Atomics.store(words, this.#index * 2, request.seq);
    Atomics.notify(words, this.#index * 2);
    return failure;
  }

  #run({ cache: i, operation }: CacheRequest): number {
    const cache = this.#caches[i];
    if (!cache || !this.#row) throw new Error(`this worker has no cache ${i} matching the control plane's`);
    switch (operation.op) {
      case 'expunge':
        return cache.expunge(operation.upTo);
      case 'purgeExpired':
        return cache.purgeExpired(operation.upTo);
      case 'expungeByName':
        return cache.expungeByName(DNSName.fromWire(operation.name).name, operation.qtype, operation.suffixMatch);
      case 'dump':
        return appendPacketCacheDump(operation.path, '', cache.dumpLines());
    }
  }
}
