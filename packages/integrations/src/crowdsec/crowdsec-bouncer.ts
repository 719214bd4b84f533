/**
 * dnsdist-ts as a CrowdSec bouncer: polls the Local API's decision stream
 * and applies its decisions as dynamic blocks (so the default BPF filter's
 * maps, and XDP, enforce them), marked with the bouncer as their origin.
 * The LAPI being away never stops DNS or local blocking: polls fail in the
 * background, are retried with backoff, and each kind of error is logged
 * once until a poll succeeds again.
 */
import { EventEmitter } from 'node:events';
import type { BlockScopeGuard, ClientBlockRange, DynamicBlocks } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import type { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import type { CrowdSecBouncerOptions } from './crowdsec-bouncer-options.js';
import { checkDecision, DecisionError, type CheckedDecision, type DecisionRefusal } from './crowdsec-decision.js';
import { LapiClient, LapiError, type DecisionStream } from './lapi-client.js';

/** Counters and state of the bouncer, for metrics and showCrowdSecBouncer(). */
export interface CrowdSecBouncerStats {
  readonly configured: boolean;
  /** The last poll succeeded. */
  readonly connected: boolean;
  readonly applied: number;
  readonly removed: number;
  readonly refused: ReadonlyMap<DecisionRefusal, number>;
  readonly pollFailures: number;
  /** Unix time (seconds) of the last successful poll; 0 before the first. */
  readonly lastPoll: number;
  /** Addresses and ranges the bouncer holds a live decision for. */
  readonly active: number;
  readonly lastError: string | undefined;
}

/** First retry after a failed poll; doubled each failure up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 60_000;
/** Bytes of stream per decision the bouncer may hold, for the body cap. */
const BYTES_PER_DECISION = 1024;

/**
 * What CrowdSecBouncer announces on `events`: 'polled' (the stream read and
 * applied), 'failed' (a LapiError), 'refused' (a DecisionError).
 */
export type CrowdSecBouncerEvent = 'polled' | 'failed' | 'refused';

export class CrowdSecBouncer {
  /** See {@link CrowdSecBouncerEvent}. */
  readonly events = new EventEmitter();
  readonly #blocks: DynamicBlocks;
  readonly #guard: BlockScopeGuard;
  readonly #log: Logger;
  #opts: CrowdSecBouncerOptions | undefined;
  #client: LapiClient | undefined;
  #started = false;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  /** Ask for the full list (startup=true): the first poll, and the first after a failure. */
  #needStartup = true;
  #backoffMs = FIRST_BACKOFF_MS;
  #lastKindLogged: string | undefined;
  /** Live decisions by range text: the range, and decision id → deadline (performance.now() ms). */
  readonly #byKey = new Map<string, { readonly range: ClientBlockRange; readonly ids: Map<number, number> }>();
  /** Range text by decision id, for deletions. */
  readonly #keyOf = new Map<number, string>();
  // counters
  #connected = false;
  #applied = 0;
  #removed = 0;
  readonly #refused = new Map<DecisionRefusal, number>();
  #pollFailures = 0;
  #lastPoll = 0;
  #lastError: string | undefined;

  constructor(blocks: DynamicBlocks, guard: BlockScopeGuard, log: Logger) {
    this.#blocks = blocks;
    this.#guard = guard;
    this.#log = log;
  }

  get options(): CrowdSecBouncerOptions | undefined {
    return this.#opts;
  }

  /**
   * setCrowdSecBouncer: at configuration time polling starts with the node;
   * at run time, at once.
   *
   * @throws Error when a bouncer is already configured, or caFile cannot be read.
   */
  configure(opts: CrowdSecBouncerOptions): void {
    if (this.#opts) throw new Error('setCrowdSecBouncer: a bouncer is already configured; restart to change it');
    this.#client = new LapiClient({
      url: opts.url,
      apiKey: opts.apiKey,
      timeout: opts.timeout,
      caFile: opts.caFile,
      maxBytes: opts.maxDecisions * BYTES_PER_DECISION + (1 << 20),
    });
    this.#opts = opts;
    this.#blocks.showOrigin = true;
    if (this.#started) this.#schedule(0);
  }

  /** Start polling (the node's start); nothing when no bouncer is configured. */
  start(): void {
    this.#started = true;
    if (this.#opts) {
      this.#log.info(`CrowdSec bouncer: polling the Local API at ${this.#opts.url} every ${this.#opts.interval} s`);
      this.#schedule(0);
    }
  }

  /** Stop polling (shutdown). Blocks stay until their end. */
  async stop(): Promise<void> {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#polling;
  }

  /** Poll now (tests, and anyone who does not want to wait for the interval); resolves when applied or failed. */
  async pollNow(): Promise<void> {
    await this.#polling;
    clearTimeout(this.#timer);
    await this.#run();
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#run(), ms);
    this.#timer.unref();
  }

  #run(): Promise<void> {
    this.#polling = this.#poll().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  async #poll(): Promise<void> {
    const opts = this.#opts!;
    const startup = this.#needStartup;
    let stream: DecisionStream;
    try {
      stream = await this.#client!.stream(startup);
    } catch (err) {
      this.#failed(err instanceof LapiError ? err : new LapiError('unreachable', (err as Error).message));
      if (this.#started) this.#schedule(this.#backoffMs);
      this.#backoffMs = Math.min(this.#backoffMs * 2, Math.max(MAX_BACKOFF_MS, opts.interval * 1000));
      return;
    }
    if (!this.#connected || this.#lastKindLogged !== undefined) {
      this.#log.info(`CrowdSec bouncer: connected to the Local API at ${opts.url}`);
    }
    this.#connected = true;
    this.#lastKindLogged = undefined;
    this.#lastError = undefined;
    this.#needStartup = false;
    this.#backoffMs = FIRST_BACKOFF_MS;
    this.#lastPoll = Date.now() / 1000;
    const before = { applied: this.#applied, removed: this.#removed, refused: this.#refusedTotal() };
    this.#apply(stream, startup);
    const applied = this.#applied - before.applied;
    const removed = this.#removed - before.removed;
    const refused = this.#refusedTotal() - before.refused;
    if (applied + removed + refused > 0 || startup) {
      this.#log.info(
        `CrowdSec bouncer: ${startup ? 'full list' : 'changes'} read: ${applied} decision${applied === 1 ? '' : 's'} applied, ${removed} removed, ${refused} refused; ${this.#byKey.size} address${this.#byKey.size === 1 ? '' : 'es'} and ranges held`,
      );
    }
    this.events.emit('polled', startup);
    if (this.#started) this.#schedule(opts.interval * 1000);
  }

  #failed(err: LapiError): void {
    this.#pollFailures++;
    this.#connected = false;
    // A reconnection takes the full list again: the LAPI may have restarted with another database.
    this.#needStartup = true;
    this.#lastError = err.message;
    this.events.emit('failed', err);
    if (err.kind === this.#lastKindLogged) return;
    this.#lastKindLogged = err.kind;
    this.#log.error(`CrowdSec bouncer: ${err.message}; DNS and the blocks held go on, retrying with backoff`);
  }

  #refusedTotal(): number {
    let n = 0;
    for (const v of this.#refused.values()) n += v;
    return n;
  }

  #refuse(err: DecisionError): void {
    this.#refused.set(err.reason, (this.#refused.get(err.reason) ?? 0) + 1);
    this.#log.warn(`CrowdSec bouncer: refused a decision (${err.reason}): ${err.message}: ${err.input}`);
    this.events.emit('refused', err);
  }

  #apply(stream: DecisionStream, startup: boolean): void {
    const opts = this.#opts!;
    const now = performance.now();
    this.#prune(now);
    const fresh: CheckedDecision[] = [];
    for (const d of stream.new) {
      try {
        fresh.push(checkDecision(d, false, opts.actions, opts.maxSeconds, this.#guard));
      } catch (err) {
        if (err instanceof DecisionError) this.#refuse(err);
        else throw err;
      }
    }
    if (startup) {
      // The full list replaces what we held: a block whose decisions are all gone from it was lifted while we were away.
      const live = new Set(fresh.map((d) => d.key));
      for (const [key, held] of this.#byKey) {
        if (!live.has(key)) this.#drop(held.range);
      }
      this.#byKey.clear();
      this.#keyOf.clear();
    } else {
      for (const d of stream.deleted) {
        let c: CheckedDecision;
        try {
          c = checkDecision(d, true, opts.actions, opts.maxSeconds, this.#guard);
        } catch (err) {
          if (err instanceof DecisionError) this.#refuse(err);
          else throw err;
          continue;
        }
        const key = this.#keyOf.get(c.id) ?? c.key;
        this.#keyOf.delete(c.id);
        const held = this.#byKey.get(key);
        if (!held) continue;
        held.ids.delete(c.id);
        if (held.ids.size === 0) {
          this.#byKey.delete(key);
          this.#drop(held.range);
        }
      }
    }
    for (const d of fresh) this.#insert(d, now);
  }

  #insert(d: CheckedDecision, now: number): void {
    const opts = this.#opts!;
    let held = this.#byKey.get(d.key);
    if (!held) {
      if (this.#byKey.size >= opts.maxDecisions) {
        this.#refuse(
          new DecisionError(
            'capacity',
            JSON.stringify({ id: d.id, value: d.key }),
            `the bouncer holds ${opts.maxDecisions} (maxDecisions)`,
          ),
        );
        return;
      }
      held = { range: d.range, ids: new Map() };
      this.#byKey.set(d.key, held);
    }
    const until = now + d.ttlMs;
    held.ids.set(d.id, until);
    this.#keyOf.set(d.id, d.key);
    if (d.ttlMs <= 0) return;
    const existing = this.#blocks.clients.get(d.range);
    if (existing?.source === 'restored') {
      // Kept by the kernel maps across a restart without reason or origin: the decision has them, and its deletion must lift it.
      existing.reason = d.reason;
      existing.origin = opts.origin;
      existing.source = 'crowdsec';
    }
    const spec = { reason: d.reason, action: d.action!, until, warning: false, origin: opts.origin };
    const seconds = Math.round(d.ttlMs / 1000);
    this.#blocks.addOrRefreshClientBlock(d.range, spec, { now, seconds, kernelEligible: true, source: 'crowdsec', quiet: true });
    this.#applied++;
  }

  /** Take out the block on `range` if the bouncer made it (a local block on the same range stays). */
  #drop(range: ClientBlockRange): void {
    const b = this.#blocks.clients.get(range);
    if (!b || b.source !== 'crowdsec' || b.origin !== this.#opts!.origin) return;
    this.#blocks.removeClientBlock(range, 'crowdsec');
    this.#removed++;
  }

  /** Forget decisions past their end (their blocks expire on their own). */
  #prune(now: number): void {
    for (const [key, held] of this.#byKey) {
      for (const [id, until] of held.ids) {
        if (until <= now) {
          held.ids.delete(id);
          this.#keyOf.delete(id);
        }
      }
      if (held.ids.size === 0) this.#byKey.delete(key);
    }
  }

  stats(): CrowdSecBouncerStats {
    return {
      configured: this.#opts !== undefined,
      connected: this.#connected,
      applied: this.#applied,
      removed: this.#removed,
      refused: new Map(this.#refused),
      pollFailures: this.#pollFailures,
      lastPoll: this.#lastPoll,
      active: this.#byKey.size,
      lastError: this.#lastError,
    };
  }
}
