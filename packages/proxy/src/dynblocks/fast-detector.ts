import type { DNSQuestion } from '../query/dns-question.js';
import type { DynBlockRulesGroup } from './dyn-block-rules-group.js';
import type { PassedQueryObserver } from './dyn-block-query-check.js';

/** Math.imul read once: a global lookup per call is slow in sandboxed contexts (jest's vm). */
const imul = Math.imul;

/** Tuning of fast detection. */
export interface FastDetectionOptions {
  /** Length of a counting bucket, ms (default 50). */
  readonly bucketMs: number;
  /** Shortest time between two triggered passes, ms (default 50); grows to 10× a pass's cost. */
  readonly minIntervalMs: number;
}

export const DEFAULT_FAST_DETECTION: FastDetectionOptions = Object.freeze({ bucketMs: 50, minIntervalMs: 50 });

/** Counting slots; clients share a slot only when their hashes collide, which can only trigger a pass early. */
const SLOTS = 4096;

/**
 * Opt-in fast detection (setDynBlocksFastDetection): notices, as queries
 * arrive, a client sending faster than the lowest query rate of the rules
 * groups in use, and runs those groups' query rules right away instead of
 * waiting for the next maintenance() pass (up to a second later).
 *
 * Per query it costs a hash of the client address and one increment in a
 * fixed table of per-client counters, zeroed every bucket (50 ms). When a
 * client's count in the current bucket goes over `rate × bucket`, a pass
 * is scheduled (at most one pending, at least `minIntervalMs` apart and
 * never more often than ten times its own cost, so a huge ring cannot eat
 * the CPU). The pass itself is the group's normal ring-based apply(), so
 * what gets blocked, and when a threshold counts as crossed, is exactly
 * what maintenance() would decide; only the delay shrinks. maintenance()
 * keeps running and refreshing blocks as before.
 */
export class FastDetector implements PassedQueryObserver {
  readonly options: FastDetectionOptions;
  readonly #counts = new Uint32Array(SLOTS);
  readonly #groups: () => Iterable<DynBlockRulesGroup>;
  readonly #onError: (err: Error) => void;
  #bucketEnd = -Infinity;
  /** Queries in one bucket from one slot that trigger a pass; Infinity when no group has query rules. */
  #threshold = Infinity;
  #v4Mask = 0xffffffff;
  #timer: NodeJS.Timeout | undefined;
  #lastPass = -Infinity;
  #lastCost = 0;
  /** Passes run so far (for tests and measurements). */
  passes = 0;

  constructor(
    groups: () => Iterable<DynBlockRulesGroup>,
    onError: (err: Error) => void,
    options: FastDetectionOptions = DEFAULT_FAST_DETECTION,
  ) {
    this.#groups = groups;
    this.#onError = onError;
    this.options = options;
    this.refresh();
  }

  /** Recompute the trigger from the groups in use (their rules or masks changed, or one was applied for the first time). */
  refresh(): void {
    let rate = Infinity;
    let v4 = 32;
    for (const g of this.#live()) {
      rate = Math.min(rate, g.lowestQueryRate() ?? Infinity);
      v4 = Math.min(v4, g.masks.v4);
    }
    this.#threshold = rate === Infinity ? Infinity : Math.floor((rate * this.options.bucketMs) / 1000) + 1;
    this.#v4Mask = v4 === 0 ? 0 : (0xffffffff << (32 - v4)) >>> 0;
  }

  /** The trigger: queries from one client within one bucket. */
  get threshold(): number {
    return this.#threshold;
  }

  observe(dq: DNSQuestion): void {
    const now = dq.receivedAt;
    if (now >= this.#bucketEnd) {
      this.#counts.fill(0);
      this.#bucketEnd = now + this.options.bucketMs;
    }
    const b = dq.remote.bytes;
    let h: number;
    if (b.length === 4) h = (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) & this.#v4Mask) >>> 0;
    else h = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) ^ ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!);
    const slot = imul(h, 0x9e3779b1) >>> 20;
    const count = ++this.#counts[slot]!;
    // Equality, not >=: one trigger per client and bucket is enough.
    if (count === this.#threshold) this.#trigger(now);
  }

  #trigger(now: number): void {
    if (this.#timer !== undefined) return;
    const interval = Math.max(this.options.minIntervalMs, this.#lastCost * 10);
    const wait = Math.max(0, this.#lastPass + interval - now);
    this.#timer = setTimeout(() => this.#run(), wait);
    this.#timer.unref();
  }

  #run(): void {
    this.#timer = undefined;
    const start = performance.now();
    for (const g of this.#live()) {
      try {
        g.apply(start, { queriesOnly: true });
      } catch (err) {
        this.#onError(err as Error);
      }
    }
    const end = performance.now();
    this.#lastPass = end;
    this.#lastCost = end - start;
    this.passes++;
  }

  /** Stop a pending pass (shutdown, or fast detection switched off). */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  *#live(): Iterable<DynBlockRulesGroup> {
    for (const g of this.#groups()) if (g.appliedOnce && g.hasQueryRules) yield g;
  }
}
