/**
 * Fleet-wide dynamic blocks: the link between this node's dynamic-block
 * engine and the fleet bus. Blocks made here (by the sources the
 * operator shares) are published; blocks published by other nodes are
 * checked and inserted here, kernel copies included, marked with their
 * origin. A received block is never published again (no echo), and the
 * bus being down never stops local blocking: the node keeps its blocks,
 * reconnects, publishes its own again and reads the fleet's.
 */
import { EventEmitter } from 'node:events';
import type {
  BlockScopeGuard,
  DynamicBlocks,
  DynBlock,
  BlockSource,
  DynBlockObserver,
  DynBlockSpec,
} from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import { chainObservers } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import type { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import {
  blockId,
  decodeFleetRecord,
  FleetRecordError,
  recordOf,
  type FleetBlock,
  type FleetBlockRecord,
  type FleetRefusal,
} from './fleet-block-record.js';
import type { FleetSyncOptions } from './fleet-sync-options.js';
import { MAX_ADD_BATCH, RedisFleetBus } from './redis-fleet-bus.js';

/** Most blocks one "add" event may carry; a longer event is refused whole. */
const MAX_EVENT_ITEMS = MAX_ADD_BATCH * 2;

/** Counters and state of fleet sync, for metrics and showDynBlocksSync(). */
export interface FleetSyncStats {
  readonly configured: boolean;
  readonly connected: boolean;
  readonly fleet: string;
  readonly node: string;
  /** Local blocks published (new or extended). */
  readonly published: number;
  /** Publications that failed (disconnected, Redis error); the blocks are published again on reconnection. */
  readonly publishFailures: number;
  /** Blocks from other nodes inserted here (events and resynchronisations). */
  readonly received: number;
  /** Removals and clears from other nodes applied here. */
  readonly removalsReceived: number;
  /** Records and events refused, by reason. */
  readonly refused: ReadonlyMap<FleetRefusal, number>;
  /** Full reads of the fleet's blocks (at each connection). */
  readonly resyncs: number;
  /** Times the connection to Redis was lost or could not be made. */
  readonly disconnects: number;
  /** Milliseconds between the last received event's publication (its sender's clock) and its arrival. */
  readonly lastLagMs: number;
  /** Active blocks here that came from other nodes. */
  readonly remoteBlocks: number;
  /** The last error Redis or the connection gave, for the operator. */
  readonly lastError: string | undefined;
}

/** Blocks applied per event-loop turn while resynchronising, so DNS keeps flowing during a large read. */
const RESYNC_SLICE = 2000;

/**
 * What FleetSync announces on `events` (for tests, and anything that wants to
 * follow the link): 'connected', 'resynced' (count read), 'published' (the
 * block ids of one batch, how many were news), 'received' (op: add, once per
 * block, del, clear), 'refused' (FleetRecordError),
 * 'failed' (the error text, each time Redis or the connection fails).
 */
export type FleetSyncEvent = 'connected' | 'resynced' | 'published' | 'received' | 'refused' | 'failed';

export class FleetSync implements DynBlockObserver {
  /** See {@link FleetSyncEvent}. */
  readonly events = new EventEmitter();
  readonly #blocks: DynamicBlocks;
  readonly #guard: BlockScopeGuard;
  readonly #log: Logger;
  #opts: FleetSyncOptions | undefined;
  #bus: RedisFleetBus | undefined;
  #started = false;
  /** The deadline last published per block, so refreshes that do not extend a block are not sent. */
  readonly #publishedUntil = new WeakMap<DynBlock, number>();
  #resyncing: Promise<void> | undefined;
  /** Publications of this turn of the event loop, sent together at its end. */
  readonly #pending = new Map<string, { record: FleetBlockRecord; ttlMs: number; block: DynBlock }>();
  /** The start of this node's own events, which the channel brings back to it. */
  #selfPrefix = '';
  /** Counts clears received: a resynchronisation that sees it change stops applying what it read before. */
  #removalEpoch = 0;
  /** Blocks removed by other nodes while a resynchronisation runs: what it read of them is stale. */
  #removedDuringResync: Set<string> | undefined;
  #resyncAgain = false;
  #lastErrorLogged: string | undefined;
  // counters
  #published = 0;
  #publishFailures = 0;
  #received = 0;
  #removalsReceived = 0;
  readonly #refused = new Map<FleetRefusal, number>();
  #resyncs = 0;
  #disconnects = 0;
  #lastLagMs = 0;
  #lastError: string | undefined;

  constructor(blocks: DynamicBlocks, guard: BlockScopeGuard, log: Logger) {
    this.#blocks = blocks;
    this.#guard = guard;
    this.#log = log;
  }

  /** The options in force, once setDynBlocksSync has been called. */
  get options(): FleetSyncOptions | undefined {
    return this.#opts;
  }

  /**
   * Join a fleet (setDynBlocksSync). At configuration time the connection
   * is made when the node starts; at run time, at once.
   *
   * @throws Error when the node is already in a fleet.
   */
  configure(opts: FleetSyncOptions): void {
    if (this.#opts) throw new Error(`setDynBlocksSync: this node is already in fleet "${this.#opts.fleet}"; restart to change fleets`);
    this.#opts = opts;
    this.#selfPrefix = `"node":${JSON.stringify(opts.node)},`;
    this.#blocks.observer = chainObservers(this.#blocks.observer, this);
    this.#blocks.showOrigin = true;
    if (this.#started) this.#connect();
  }

  /** Start syncing (the node's start); nothing when no fleet is configured. */
  start(): void {
    this.#started = true;
    if (this.#opts) this.#connect();
  }

  #connect(): void {
    const opts = this.#opts!;
    this.#log.info(`Fleet sync: joining fleet "${opts.fleet}" as "${opts.node}" through ${redactedUrl(opts.url)}`);
    this.#bus = new RedisFleetBus(opts, {
      message: (text) => this.#onMessage(text),
      ready: () => this.#onReady(),
      down: (err) => this.#onDown(err),
    });
    this.#bus.start();
  }

  /** Leave the bus (shutdown). Blocks stay as they are. */
  async stop(): Promise<void> {
    this.#started = false;
    const bus = this.#bus;
    this.#bus = undefined;
    if (bus) await bus.stop();
  }

  // ---- local changes → the fleet ---------------------------------------------

  #shares(source: BlockSource | undefined): boolean {
    return source !== undefined && this.#opts!.share.has(source);
  }

  inserted(block: DynBlock, source: BlockSource | undefined): void {
    if (!this.#shares(source)) return;
    this.#publish(block, performance.now());
  }

  #publish(block: DynBlock, now: number): void {
    const opts = this.#opts!;
    const bus = this.#bus;
    if (block.warning && !opts.warnings) return;
    if (block.tag !== undefined) return;
    const ttlMs = Math.round(block.until - now);
    if (ttlMs <= 0) return;
    const last = this.#publishedUntil.get(block);
    // A rules group refreshes an ongoing block every second: only news (new, or extended by a second or more) is sent.
    if (last !== undefined && block.until < last + 1000) return;
    const record = recordOf(block, block.effectiveAction(this.#blocks.defaultAction), opts.node);
    if (!record || (opts.actions !== undefined && !opts.actions.has(record.action))) return;
    if (!bus?.connected) {
      // Sent when the bus comes back (#republishLocal).
      this.#publishFailures++;
      return;
    }
    this.#publishedUntil.set(block, block.until);
    // Blocks made in one turn of the event loop (a rules group's pass, a bulk insert) travel together.
    this.#pending.set(blockId(record.kind, record.key), { record, ttlMs, block });
    if (this.#pending.size === 1) setImmediate(() => this.#flush());
  }

  #flush(): void {
    const bus = this.#bus;
    const all = [...this.#pending].map(([id, p]) => ({ id, ...p }));
    this.#pending.clear();
    const failed = (batch: typeof all, err: Error): void => {
      for (const p of batch) this.#publishedUntil.delete(p.block);
      this.#publishFailures += batch.length;
      this.#noteError(err);
    };
    for (let i = 0; i < all.length; i += MAX_ADD_BATCH) {
      const batch = all.slice(i, i + MAX_ADD_BATCH);
      if (!bus?.connected) {
        failed(batch, new Error('not connected to Redis'));
        continue;
      }
      bus.add(batch, Date.now()).then(
        (sent) => {
          this.#published += sent;
          this.events.emit(
            'published',
            batch.map((p) => p.id),
            sent,
          );
        },
        (err: unknown) => failed(batch, err as Error),
      );
    }
  }

  removed(block: DynBlock, source: BlockSource | undefined): void {
    if (source === 'fleet' || !this.#bus?.connected) return;
    // A CrowdSec decision deleted here was never the fleet's unless shared: the other nodes' bouncers see the deletion themselves.
    if (source === 'crowdsec' && !this.#shares(source)) return;
    const kind = block.range ? 'net' : 'suffix';
    this.#bus.del(kind, block.keyText(), Date.now()).catch((err: unknown) => this.#noteError(err as Error));
  }

  cleared(source: BlockSource | undefined): void {
    if (source === 'fleet' || !this.#opts!.propagateClear) return;
    const bus = this.#bus;
    if (!bus?.connected) {
      this.#log.warn('Fleet sync: clearDynBlocks() cleared this node only: not connected to the fleet bus');
      return;
    }
    bus.clear(Date.now()).catch((err: unknown) => this.#noteError(err as Error));
  }

  // ---- the fleet → this node ------------------------------------------------

  #refuse(err: FleetRecordError): void {
    this.#refused.set(err.reason, (this.#refused.get(err.reason) ?? 0) + 1);
    this.#log.warn(`Fleet sync: refused a block from the bus (${err.reason}): ${err.message}: ${err.input}`);
    this.events.emit('refused', err);
  }

  #onMessage(text: string): void {
    const opts = this.#opts!;
    // Our own events come back on the channel: recognised without parsing them (a burst of blocks made here is long).
    if (text.startsWith('{"v":1,"op":"') && text.indexOf(this.#selfPrefix) > 0 && text.indexOf(this.#selfPrefix) < 40) return;
    let e: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      e = parsed as Record<string, unknown>;
    } catch {
      this.#refuse(new FleetRecordError('malformed', text, 'an event that is not a JSON object'));
      return;
    }
    if (e.node === opts.node) return;
    if (e.v !== 1) {
      this.#refuse(new FleetRecordError('version', text, `event version ${String(e.v)}, this node reads 1`));
      return;
    }
    if (typeof e.at === 'number' && Number.isFinite(e.at)) this.#lastLagMs = Math.max(0, Date.now() - e.at);
    try {
      if (e.op === 'add') this.#applyAdds(e, text);
      else if (e.op === 'del') this.#applyDel(e, text);
      else if (e.op === 'clear') {
        this.#removalsReceived++;
        this.#removalEpoch++;
        this.#blocks.clear('fleet');
        this.#log.warn(`Fleet sync: fleet node ${String(e.node)} cleared the dynamic blocks`);
      } else throw new FleetRecordError('malformed', text, `unknown event op ${JSON.stringify(e.op)}`);
      if (e.op !== 'add') this.events.emit('received', e.op);
    } catch (err) {
      if (err instanceof FleetRecordError) this.#refuse(err);
      else this.#refuse(new FleetRecordError('malformed', text, (err as Error).message));
    }
  }

  /** An "add" event: each block checked and applied on its own (one bad block does not cost the others). */
  #applyAdds(e: Record<string, unknown>, text: string): void {
    const items = e.items;
    if (!Array.isArray(items) || items.length === 0 || items.length > MAX_EVENT_ITEMS) {
      throw new FleetRecordError('malformed', text, `an add event needs 1 to ${MAX_EVENT_ITEMS} items`);
    }
    for (const item of items as unknown[]) {
      try {
        const o = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
        this.#apply(decodeFleetRecord(o.block, o.ttl, this.#opts!.maxSeconds, this.#guard), false);
        this.events.emit('received', 'add');
      } catch (err) {
        if (err instanceof FleetRecordError) this.#refuse(err);
        else this.#refuse(new FleetRecordError('malformed', JSON.stringify(item) ?? String(item), (err as Error).message));
      }
    }
  }

  #applyDel(e: Record<string, unknown>, text: string): void {
    if (typeof e.key !== 'string' || (e.kind !== 'net' && e.kind !== 'suffix')) {
      throw new FleetRecordError('malformed', text, 'a removal needs kind "net" or "suffix" and a key');
    }
    // Checked as an insertion would be: a removal cannot name what an insertion could not.
    const fb = decodeFleetRecord({ v: 1, kind: e.kind, key: e.key, action: 'Drop', reason: '', origin: String(e.node) }, 1, 1, this.#guard);
    this.#removalsReceived++;
    this.#removedDuringResync?.add(blockId(fb.kind, e.key));
    if (fb.range) this.#blocks.removeClientBlock(fb.range, 'fleet');
    else this.#blocks.removeSuffixBlock(fb.name!, 'fleet');
  }

  #apply(fb: FleetBlock, quiet: boolean): void {
    const b = this.#blocks;
    const existing = fb.range ? b.clients.get(fb.range) : b.suffixes.get(fb.name!);
    if (existing?.source === 'restored') {
      // The kernel maps kept this block across a restart without its reason or origin: the fleet's record has them.
      existing.reason = fb.reason;
      existing.origin = fb.origin;
      existing.source = 'fleet';
    }
    if (!existing && b.clients.size + b.suffixes.size >= this.#opts!.maxBlocks) {
      throw new FleetRecordError(
        'capacity',
        fb.range?.toString() ?? fb.name!.toString(),
        `this node holds ${this.#opts!.maxBlocks} blocks (maxBlocks)`,
      );
    }
    const now = performance.now();
    const spec: DynBlockSpec = { reason: fb.reason, action: fb.action, until: now + fb.ttlMs, warning: false, origin: fb.origin };
    const opts = { now, seconds: Math.round(fb.ttlMs / 1000), kernelEligible: true, source: 'fleet', quiet } as const;
    const changed = fb.range ? b.addOrRefreshClientBlock(fb.range, spec, opts) : b.addOrRefreshSuffixBlock(fb.name!, spec, opts);
    if (changed) this.#received++;
  }

  // ---- connection -------------------------------------------------------------

  #onReady(): void {
    this.#lastErrorLogged = undefined;
    this.#log.info(`Fleet sync: connected to the fleet bus (fleet "${this.#opts!.fleet}")`);
    this.events.emit('connected');
    this.#scheduleResync();
  }

  #onDown(err: Error | undefined): void {
    if (err) this.#noteError(err);
    else {
      this.#disconnects++;
      this.#log.warn('Fleet sync: lost the connection to the fleet bus; blocking goes on with the blocks this node has, reconnecting');
    }
  }

  #noteError(err: Error): void {
    const text = explainRedisError(err, this.#opts!);
    this.#lastError = text;
    this.events.emit('failed', text);
    if (text === this.#lastErrorLogged) return;
    this.#lastErrorLogged = text;
    if (!this.#bus?.connected) this.#disconnects++;
    this.#log.error(`Fleet sync: ${text}`);
  }

  #scheduleResync(): void {
    if (this.#resyncing) {
      this.#resyncAgain = true;
      return;
    }
    this.#resyncing = this.#resync()
      .catch((err: unknown) => this.#noteError(err as Error))
      .finally(() => {
        this.#resyncing = undefined;
        if (this.#resyncAgain && this.#bus?.connected) {
          this.#resyncAgain = false;
          this.#scheduleResync();
        }
      });
  }

  /** Publish this node's own live shared blocks (missed while disconnected), then take the fleet's. */
  async #resync(): Promise<void> {
    const bus = this.#bus;
    if (!bus) return;
    const now = performance.now();
    for (const blk of [...this.#blocks.activeClientBlocks(now), ...this.#blocks.activeSuffixBlocks(now)]) {
      // Blocks made here: no origin, or the CrowdSec bouncer's (whose origin names the bouncer, not a node).
      if ((blk.origin === undefined || blk.source === 'crowdsec') && this.#shares(blk.source)) {
        this.#publishedUntil.delete(blk);
        this.#publish(blk, now);
      }
    }
    let taken = 0;
    let seen = 0;
    const live = new Set<string>();
    const epoch = this.#removalEpoch;
    const removed = new Set<string>();
    this.#removedDuringResync = removed;
    try {
      for await (const batch of bus.snapshot()) {
        // A clear arrived while reading: what was read before it is stale. Read again.
        if (this.#removalEpoch !== epoch) {
          this.#resyncAgain = true;
          return;
        }
        for (const stored of batch) {
          seen++;
          try {
            const fb = decodeFleetRecord(stored.value, stored.ttlMs, this.#opts!.maxSeconds, this.#guard);
            const id = blockId(fb.kind, fb.range?.toString() ?? fb.name!.toString());
            if (removed.has(id)) continue;
            live.add(id);
            if (fb.origin === this.#opts!.node) continue;
            const before = this.#received;
            this.#apply(fb, true);
            if (this.#received > before) taken++;
          } catch (err) {
            if (err instanceof FleetRecordError) this.#refuse(err);
            else throw err;
          }
          if (seen % RESYNC_SLICE === 0) {
            await new Promise((r) => setImmediate(r));
            if (this.#removalEpoch !== epoch) {
              this.#resyncAgain = true;
              return;
            }
          }
        }
      }
    } finally {
      this.#removedDuringResync = undefined;
    }
    const stale = this.#dropStaleRestored(live);
    this.#resyncs++;
    if (stale > 0)
      this.#log.info(
        `Fleet sync: removed ${stale} block${stale === 1 ? '' : 's'} restored from the kernel maps that the fleet no longer has`,
      );
    this.events.emit('resynced', seen);
    const ms = Math.round(performance.now() - now);
    this.#log.info(`Fleet sync: read ${seen} live block${seen === 1 ? '' : 's'} of the fleet in ${ms} ms, ${taken} new or extended here`);
  }

  /**
   * Blocks this node restored from its kernel maps at start-up (which keep
   * no origin) that the fleet no longer holds were lifted while the node
   * was down (a clearDynBlocks() or a removal elsewhere): keeping them would
   * enforce a block the fleet dropped.
   */
  #dropStaleRestored(live: ReadonlySet<string>): number {
    let removed = 0;
    const now = performance.now();
    for (const blk of [...this.#blocks.activeClientBlocks(now), ...this.#blocks.activeSuffixBlocks(now)]) {
      if (blk.source !== 'restored') continue;
      const id = blockId(blk.range ? 'net' : 'suffix', blk.keyText());
      if (live.has(id)) continue;
      if (blk.range) this.#blocks.removeClientBlock(blk.range, 'fleet');
      else this.#blocks.removeSuffixBlock(blk.domain!, 'fleet');
      removed++;
    }
    return removed;
  }

  /** For tests and shutdown: resolves once no resynchronisation is running. */
  async idle(): Promise<void> {
    while (this.#resyncing) await this.#resyncing;
  }

  stats(): FleetSyncStats {
    // The engine's running count: each scrape asks, and a scan of 100,000 blocks would hold the event loop.
    const remote = this.#blocks.activeBlockCounts(performance.now()).remote;
    return {
      configured: this.#opts !== undefined,
      connected: this.#bus?.connected ?? false,
      fleet: this.#opts?.fleet ?? '',
      node: this.#opts?.node ?? '',
      published: this.#published,
      publishFailures: this.#publishFailures,
      received: this.#received,
      removalsReceived: this.#removalsReceived,
      refused: new Map(this.#refused),
      resyncs: this.#resyncs,
      disconnects: this.#disconnects,
      lastLagMs: this.#lastLagMs,
      remoteBlocks: remote,
      lastError: this.#lastError,
    };
  }
}

/** The URL without its password, for logs. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Redis and socket errors in words that say what to check. */
export function explainRedisError(err: Error, opts: FleetSyncOptions): string {
  const m = err.message;
  const where = redactedUrl(opts.url);
  if (/WRONGPASS|NOAUTH|invalid username-password|AUTH/i.test(m)) {
    return `Redis at ${where} refused our credentials (${m}); check user and password in setDynBlocksSync`;
  }
  if (/ECONNREFUSED/.test(m)) return `cannot connect to Redis at ${where} (${m}); retrying with backoff`;
  if (/certificate|self[- ]signed|SSL|TLS|handshake|altnames/i.test(m)) {
    return `TLS with Redis at ${where} failed (${m}); check tls.caFile and tls.serverName in setDynBlocksSync`;
  }
  return `Redis at ${where}: ${m}`;
}
