/**
 * Token buckets every data-plane worker takes from, so that QPSAction,
 * MaxQPSRule, QPSPoolAction and newServer{qps=…} limit the total, not each
 * worker. One 64-bit word per bucket in a SharedArrayBuffer, updated with
 * compare-and-swap: no lock and no message per query.
 *
 * The word is the bucket's "theoretical arrival time" (GCRA, the
 * generic cell rate algorithm), in microseconds on a clock all threads
 * share (performance.timeOrigin + performance.now()): a query passes when
 * that time is at most (burst - 1) intervals ahead of now, and moves it
 * one interval (1/rate s) on. That is a token bucket of `burst` tokens
 * refilled at `rate` per second, starting full, as dnsdist's QPSLimiter.
 */
import { QpsLimiter, type SharedBucket } from '@dnsdist-ts/dataplane/rules/qps-limiter.js';

/** Microseconds since the epoch, the same in every thread of the process. */
function nowMicros(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
}

/** A rate of 0 never refills: an interval longer than any process lives. */
const NEVER = 1n << 60n;

class SharedBucketSlot implements SharedBucket {
  readonly #words: BigInt64Array;
  readonly #index: number;
  readonly #interval: bigint;
  readonly #tolerance: bigint;

  constructor(words: BigInt64Array, index: number, rate: number, burst: number) {
    this.#words = words;
    this.#index = index;
    this.#interval = rate > 0 ? BigInt(Math.max(1, Math.round(1e6 / rate))) : NEVER;
    // burst 0 lets nothing through: a tolerance below zero refuses every query.
    this.#tolerance = burst > 0 ? BigInt(burst - 1) * this.#interval : -1n;
  }

  take(): boolean {
    const words = this.#words;
    const now = nowMicros();
    for (;;) {
      const tat = Atomics.load(words, this.#index);
      const from = tat > now ? tat : now;
      if (from - now > this.#tolerance) return false;
      if (Atomics.compareExchange(words, this.#index, tat, from + this.#interval) === tat) return true;
    }
  }

  peek(): boolean {
    const now = nowMicros();
    const tat = Atomics.load(this.#words, this.#index);
    return (tat > now ? tat - now : 0n) <= this.#tolerance;
  }
}

/** The shared words of every limiter the configuration creates, in creation order. */
export class SharedTokenBuckets {
  readonly buffer: SharedArrayBuffer;
  readonly #words: BigInt64Array;
  #next = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#words = new BigInt64Array(buffer);
  }

  /** Room for `count` buckets, all full. */
  static create(count: number): SharedTokenBuckets {
    return new SharedTokenBuckets(new SharedArrayBuffer(Math.max(1, count) * 8));
  }

  /** The next bucket, for the next limiter the configuration creates (same order in every thread). */
  allocate(rate: number, burst: number): SharedBucket {
    if (this.#next >= this.#words.length) {
      throw new Error(
        `this worker's configuration created more rate limiters (${this.#next + 1}) than the control plane's (${this.#words.length}); a configuration must create the same limiters every time it runs`,
      );
    }
    return new SharedBucketSlot(this.#words, this.#next++, rate, burst);
  }
}

/**
 * Run `load` (the configuration) with every QpsLimiter it creates drawing
 * from `buckets`, or, without buckets, only counting them (the control
 * plane, to size the buffer). Limiters created later (inside Lua functions
 * at query time) stay per thread. Returns how many were created.
 */
export function withConfigurationLimiters(buckets: SharedTokenBuckets | undefined, load: () => void): number {
  let created = 0;
  const previous = QpsLimiter.sharedBuckets;
  QpsLimiter.sharedBuckets = (rate, burst) => {
    created++;
    return buckets?.allocate(rate, burst);
  };
  try {
    load();
  } finally {
    QpsLimiter.sharedBuckets = previous;
  }
  return created;
}
