import { performance } from 'node:perf_hooks';
import type { DNSQuestion } from '../query/dns-question.js';
import type { DNSResponse } from '../query/dns-response.js';
import type { DownstreamServerInfo } from '../query/downstream-server-info.js';
import {
  countQueriesByClient,
  countResponsesByClient,
  type ClientCounts,
  type QueryCounter,
  type ResponseCounter,
} from './client-counting.js';
import type { ClientMasks } from './client-range.js';
import * as exceed from './exceed.js';
import type { ExceedResult } from './exceed.js';
import { grepq } from './grepq.js';
import { QueryRing } from './query-ring.js';
import { showResponseLatency } from './response-latency.js';
import { ResponseRing } from './response-ring.js';
import { requireIntegerInRange } from './ring-argument-error.js';
import { QueryEntry, ResponseEntry } from './ring-entry.js';
import { getRespRing, getResponseRing, type RespRingRow, type ResponseRingRow } from './ring-tables.js';
import * as tops from './top-lists.js';
import type { TopRow } from './top-lists.js';

/** dnsdist 1.8's setRingBuffersOptions{...}. */
export interface RingOptions {
  /** Record queries (default true). */
  readonly recordQueries: boolean;
  /** Record answers and timeouts (default true). */
  readonly recordResponses: boolean;
  /**
   * setRingBuffersLockRetries: how many shards dnsdist tries to lock before
   * blocking (default 5, 0 with a single shard). Kept for configuration
   * compatibility; inserts never wait on a lock here.
   */
  readonly lockRetries: number;
}

/** Largest total capacity accepted: far above what dnsdist advises (about 250 MB per million entries there). */
const MAX_CAPACITY = 100_000_000;
const MAX_SHARDS = 65_536;

/**
 * dnsdist's query and response ring buffers: the last N queries and the
 * last N backend answers, which the dynamic-block rules, the exceed*()
 * functions and the console analyses (top*, grepq) read.
 *
 * The capacity is split evenly over shards, each shard holding
 * `floor(capacity / shards)` queries and as many answers. Inserts go
 * round-robin over the shards (queries and answers each with their own
 * turn, so both rings fill evenly), write preallocated columns and
 * allocate nothing. Analyses walk every shard.
 *
 * Times are milliseconds on the performance.now() clock: queries are
 * stamped with `dq.receivedAt`, answers with the `now` given when
 * recording them.
 */
export class Rings {
  /** Default total capacity (dnsdist's setRingBuffersSize default). */
  static readonly DEFAULT_CAPACITY = 10_000;
  /** Default number of shards (dnsdist 1.6.0 and later). */
  static readonly DEFAULT_SHARDS = 10;

  #capacity = 0;
  #queryRings: QueryRing[] = [];
  #responseRings: ResponseRing[] = [];
  #nextQueryShard = 0;
  #nextResponseShard = 0;
  #seq = 0;
  #recordQueries = true;
  #recordResponses = true;
  #lockRetries = 5;

  /** @throws RingArgumentError as {@link Rings.setSize}. */
  constructor(capacity: number = Rings.DEFAULT_CAPACITY, shards: number = Rings.DEFAULT_SHARDS) {
    this.setSize(capacity, shards);
  }

  /**
   * dnsdist's setRingBuffersSize(capacity [, shards]): reallocate the
   * rings, dropping every entry. A configuration-time operation; capacity
   * 0 records nothing (what dnsdist does in console-client mode).
   *
   * @throws RingArgumentError on a negative or non-integer capacity, or a shard count below 1.
   */
  setSize(capacity: number, shards: number = Rings.DEFAULT_SHARDS): void {
    requireIntegerInRange(capacity, 0, MAX_CAPACITY, 'the ring buffer size');
    requireIntegerInRange(shards, 1, MAX_SHARDS, 'the number of ring buffer shards');
    const perShard = Math.floor(capacity / shards);
    this.#capacity = capacity;
    this.#queryRings = Array.from({ length: shards }, () => new QueryRing(perShard));
    this.#responseRings = Array.from({ length: shards }, () => new ResponseRing(perShard));
    this.#nextQueryShard = 0;
    this.#nextResponseShard = 0;
    if (shards === 1) this.#lockRetries = 0;
  }

  /**
   * dnsdist's setRingBuffersOptions{...}: change only the options given.
   *
   * @throws RingArgumentError on a negative or non-integer `lockRetries`.
   */
  setOptions(options: Partial<RingOptions>): void {
    if (options.lockRetries !== undefined) {
      requireIntegerInRange(options.lockRetries, 0, MAX_SHARDS, 'the number of ring buffer lock retries');
      this.#lockRetries = options.lockRetries;
    }
    if (options.recordQueries !== undefined) this.#recordQueries = options.recordQueries;
    if (options.recordResponses !== undefined) this.#recordResponses = options.recordResponses;
  }

  /** The options in force. */
  getOptions(): RingOptions {
    return { recordQueries: this.#recordQueries, recordResponses: this.#recordResponses, lockRetries: this.#lockRetries };
  }

  /** Total capacity as configured (the shards may hold a little less when it does not divide evenly). */
  get capacity(): number {
    return this.#capacity;
  }

  /** Shards per ring (setRingBuffersSize's second argument). */
  getNumberOfShards(): number {
    return this.#queryRings.length;
  }

  /** The query ring shards, for walks; their columns are read-only. */
  get queryRings(): readonly QueryRing[] {
    return this.#queryRings;
  }

  /** The response ring shards, for walks; their columns are read-only. */
  get responseRings(): readonly ResponseRing[] {
    return this.#responseRings;
  }

  /** Record a query (hot path). Called once per query the frontends accept. */
  recordQuery(dq: DNSQuestion): void {
    if (!this.#recordQueries) return;
    const rings = this.#queryRings;
    const shard = this.#nextQueryShard;
    this.#nextQueryShard = shard + 1 === rings.length ? 0 : shard + 1;
    rings[shard]!.push(dq, ++this.#seq);
  }

  /**
   * Record a backend's answer (hot path). dnsdist 1.7.3 records only
   * answers that came from a backend; whether to record cache hits and
   * self-answered queries (as 1.8 does) is the caller's choice.
   *
   * @param now when the answer was handled, ms on the performance.now() clock.
   */
  recordResponse(dr: DNSResponse, now: number = performance.now()): void {
    if (!this.#recordResponses) return;
    const rings = this.#responseRings;
    const shard = this.#nextResponseShard;
    this.#nextResponseShard = shard + 1 === rings.length ? 0 : shard + 1;
    rings[shard]!.push(dr, now, ++this.#seq);
  }

  /** Record that `server` did not answer `dq` in time (grepq shows "T.O"). */
  recordTimeout(dq: DNSQuestion, server: DownstreamServerInfo | undefined, now: number = performance.now()): void {
    if (!this.#recordResponses) return;
    const rings = this.#responseRings;
    const shard = this.#nextResponseShard;
    this.#nextResponseShard = shard + 1 === rings.length ? 0 : shard + 1;
    rings[shard]!.pushTimeout(dq, server, now, ++this.#seq);
  }

  /**
   * Called before an analysis reads the shards (every reader below): with
   * data-plane workers the control plane brings its copy of the workers'
   * rings up to date here (workers/worker-rings.ts). Undefined costs one test.
   */
  beforeRead: (() => void) | undefined = undefined;

  #queries(): readonly QueryRing[] {
    this.beforeRead?.();
    return this.#queryRings;
  }

  #responses(): readonly ResponseRing[] {
    this.beforeRead?.();
    return this.#responseRings;
  }

  /**
   * Read these shards from now on instead of the ones this object
   * recorded into: the control plane's view of every worker's rings, whose
   * shards are kept up to date elsewhere. Records made here afterwards go
   * to those shards too, so the control plane records nothing itself.
   */
  viewShards(queryRings: readonly QueryRing[], responseRings: readonly ResponseRing[]): void {
    this.#queryRings = [...queryRings];
    this.#responseRings = [...responseRings];
    this.#nextQueryShard = 0;
    this.#nextResponseShard = 0;
    this.#capacity = queryRings.reduce((n, r) => n + r.capacity, 0);
  }

  /** Drop every entry, keeping the size. */
  clear(): void {
    for (const ring of this.#queryRings) ring.clear();
    for (const ring of this.#responseRings) ring.clear();
  }

  /** Queries currently held, over all shards. */
  getNumberOfQueryEntries(): number {
    let n = 0;
    for (const ring of this.#queries()) n += ring.count;
    return n;
  }

  /** Answers and timeouts currently held, over all shards. */
  getNumberOfResponseEntries(): number {
    let n = 0;
    for (const ring of this.#responses()) n += ring.count;
    return n;
  }

  /** Different client addresses (ports ignored) in the query ring. */
  numDistinctRequestors(): number {
    return tops.numDistinctRequestors(this.#queries());
  }

  /**
   * Visit every query entry, shard by shard, oldest first in each. The
   * entry object is reused: only valid during the call.
   */
  forEachQuery(visit: (entry: QueryEntry) => void): void {
    const entry = new QueryEntry();
    for (const ring of this.#queries()) {
      for (let k = 0; k < ring.count; k++) visit(entry.moveTo(ring, ring.slot(k)));
    }
  }

  /** Visit every response entry like {@link Rings.forEachQuery}. */
  forEachResponse(visit: (entry: ResponseEntry) => void): void {
    const entry = new ResponseEntry();
    for (const ring of this.#responses()) {
      for (let k = 0; k < ring.count; k++) visit(entry.moveTo(ring, ring.slot(k)));
    }
  }

  /**
   * One walk over the query ring totalling every counter per client range
   * (see client-counting.ts for the semantics and an example).
   *
   * @throws RingArgumentError on invalid masks.
   */
  countQueriesByClient(now: number, masks: ClientMasks, counters: readonly QueryCounter[]): ClientCounts {
    return countQueriesByClient(this.#queries(), now, masks, counters);
  }

  /** One walk over the response ring totalling every counter per client range. */
  countResponsesByClient(now: number, masks: ClientMasks, counters: readonly ResponseCounter[]): ClientCounts {
    return countResponsesByClient(this.#responses(), now, masks, counters);
  }

  /** dnsdist's exceedQRate(rate, seconds): clients over `rate` queries/s (count > rate × seconds). */
  exceedQRate(rate: number, seconds: number, now: number = performance.now()): ExceedResult {
    return exceed.exceedQRate(this.#queries(), rate, seconds, now);
  }

  /** dnsdist's exceedQTypeRate(qtype, rate, seconds). */
  exceedQTypeRate(qtype: number, rate: number, seconds: number, now: number = performance.now()): ExceedResult {
    return exceed.exceedQTypeRate(this.#queries(), qtype, rate, seconds, now);
  }

  /** dnsdist's exceedServFails(rate, seconds). */
  exceedServFails(rate: number, seconds: number, now: number = performance.now()): ExceedResult {
    return exceed.exceedServFails(this.#responses(), rate, seconds, now);
  }

  /** dnsdist's exceedNXDOMAINs(rate, seconds). */
  exceedNXDOMAINs(rate: number, seconds: number, now: number = performance.now()): ExceedResult {
    return exceed.exceedNXDOMAINs(this.#responses(), rate, seconds, now);
  }

  /** dnsdist's exceedRespByterate(rate, seconds): clients sent over `rate` bytes/s of answers. */
  exceedRespByterate(rate: number, seconds: number, now: number = performance.now()): ExceedResult {
    return exceed.exceedRespByterate(this.#responses(), rate, seconds, now);
  }

  /** dnsdist's topClients(top): printed text. */
  topClients(top = 10): string {
    return tops.topClients(this.#queries(), top);
  }

  /** dnsdist's getTopQueries(top, labels): rows, the last one "Rest". */
  getTopQueries(top: number, labels?: number): TopRow[] {
    return tops.getTopQueries(this.#queries(), top, labels);
  }

  /** dnsdist's topQueries(top, labels): printed text. */
  topQueries(top = 10, labels?: number): string {
    return tops.topQueries(this.#queries(), top, labels);
  }

  /** dnsdist's getTopResponses(top, kind, labels): names most answered with RCODE `kind`. */
  getTopResponses(top: number, kind: number, labels?: number): TopRow[] {
    return tops.getTopResponses(this.#responses(), top, kind, labels);
  }

  /** dnsdist's topResponses(top, kind, labels): printed text. */
  topResponses(top = 10, kind = 0, labels?: number): string {
    return tops.topResponses(this.#responses(), top, kind, labels);
  }

  /** dnsdist's getSlowResponses(top, msec, labels): names most answered slower than `msec`. */
  getSlowResponses(top: number, msec: number, labels?: number): TopRow[] {
    return tops.getSlowResponses(this.#responses(), top, msec, labels);
  }

  /** dnsdist's topSlow(top, msec, labels): printed text. */
  topSlow(top = 10, msec = 500, labels?: number): string {
    return tops.topSlow(this.#responses(), top, msec, labels);
  }

  /** dnsdist's getTopBandwidth(top): clients by bytes of queries and answers. */
  getTopBandwidth(top: number): TopRow[] {
    return tops.getTopBandwidth(this.#queries(), this.#responses(), top);
  }

  /** dnsdist's topBandwidth(top): printed text. */
  topBandwidth(top = 10): string {
    return tops.topBandwidth(this.#queries(), this.#responses(), top);
  }

  /** dnsdist's showResponseLatency(): printed text. */
  showResponseLatency(): string {
    return showResponseLatency(this.#responses());
  }

  /** dnsdist's getResponseRing(): every answer as {name, qtype, rcode, usec}. */
  getResponseRing(): ResponseRingRow[] {
    return getResponseRing(this.#responses());
  }

  /** dnsdist's getRespRing([rcode]): answers as {qname, rcode}. */
  getRespRing(rcode?: number): RespRingRow[] {
    return getRespRing(this.#responses(), rcode);
  }

  /**
   * dnsdist's grepq(selector(s) [, num]): printed text, or dnsdist's
   * "Could not parse …" message for a selector that is neither a netmask,
   * a latency nor a name.
   */
  grepq(selectors: string | readonly string[], num = 0, now: number = performance.now()): string {
    return grepq(this.#queries(), this.#responses(), selectors, num, now);
  }
}
