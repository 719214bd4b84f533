import type { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
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

/**
 * What a data-plane worker's detector follows instead of its own groups
 * (their rules live in the control plane, which applies them): the
 * control plane's lowest rate and v4 mask, the number of workers that
 * share a client's queries, and where a crossing goes.
 */
export interface RemoteFastDetection {
  /** The control plane's lowest query rate (per second); Infinity: no group in use. */
  readonly rate: number;
  /** The control plane's narrowest v4 mask of the groups in use. */
  readonly v4Bits: number;
  /** Workers sharing the queries: the trigger is the rate divided by this. */
  readonly divisor: number;
  /** A client went over its share of the rate: tell the control plane (called at most once per `minIntervalMs`). */
  readonly onCandidate: () => void;
}

/** What the control plane tells its workers about its fast detection. */
export interface FastDetectionSettings {
  readonly enabled: boolean;
  /** Infinity: no group in use. */
  readonly rate: number;
  readonly v4Bits: number;
}

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
 *
 * With data-plane workers the control plane's detector sees no queries:
 * each worker's detector {@link follow}s its settings, counts against the
 * rate divided among the workers and reports crossings, which the control
 * plane turns into passes ({@link requestPass}; workers/worker-fast-detection.ts).
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
  #remote: RemoteFastDetection | undefined;
  #rate = Infinity;
  #v4Bits = 32;
  #enabled = false;
  /** Passes run so far (for tests and measurements); in a worker, candidates reported. */
  passes = 0;
  /**
   * Run before a pass, outside its measured cost: with data-plane workers,
   * the pull of their rings, whose time is mostly spent waiting for them
   * (a busy worker would otherwise space the passes out by ten times its delay).
   */
  beforePass: (() => void) | undefined = undefined;
  /** Told when {@link settings} may have changed (the control plane sends them to its workers). */
  onSettingsChanged: (() => void) | undefined = undefined;

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
    this.#rate = rate;
    this.#v4Bits = v4;
    const remote = this.#remote;
    if (remote) {
      rate = remote.rate / remote.divisor;
      v4 = remote.v4Bits;
    }
    this.#threshold = rate === Infinity ? Infinity : Math.floor((rate * this.options.bucketMs) / 1000) + 1;
    this.#v4Mask = v4 === 0 ? 0 : (0xffffffff << (32 - v4)) >>> 0;
    this.onSettingsChanged?.();
  }

  /** Whether setDynBlocksFastDetection switched it on (the binding installs it as the query observer). */
  get enabled(): boolean {
    return this.#enabled;
  }

  set enabled(on: boolean) {
    if (!on) this.close();
    this.#enabled = on;
    this.onSettingsChanged?.();
  }

  /** What a data-plane worker needs to report candidates for this detector (workers/worker-fast-detection.ts). */
  get settings(): FastDetectionSettings {
    return { enabled: this.#enabled, rate: this.#rate, v4Bits: this.#v4Bits };
  }

  /**
   * In a data-plane worker: count against the control plane's rate
   * divided among the workers, and report a crossing instead of running a
   * pass (the groups are applied in the control plane, over every
   * worker's rings). Undefined: back to this Lua state's own groups.
   */
  follow(remote: RemoteFastDetection | undefined): void {
    this.close();
    this.#remote = remote;
    this.refresh();
  }

  /**
   * A pass asked for from elsewhere: a data-plane worker saw a client over
   * its share of the rate. Coalesced and spaced like a pass triggered here;
   * nothing when switched off or no group is in use.
   */
  requestPass(now: number = performance.now()): void {
    if (this.#enabled && this.#threshold !== Infinity) this.#trigger(now);
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
    // A worker's report is one postMessage: sent at once, not after the batch of queries being read.
    if (wait === 0 && this.#remote) return this.#run();
    this.#timer = setTimeout(() => this.#run(), wait);
    this.#timer.unref();
  }

  #run(): void {
    this.#timer = undefined;
    const remote = this.#remote;
    if (remote) {
      this.#lastPass = performance.now();
      this.#lastCost = 0;
      this.passes++;
      remote.onCandidate();
      return;
    }
    try {
      this.beforePass?.();
    } catch (err) {
      this.#onError(err as Error);
    }
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
