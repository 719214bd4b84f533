/**
 * dnsdist's QPSLimiter: a token bucket holding at most `burst` tokens,
 * refilled at `rate` tokens per second, starting full. Each query that
 * finds at least one whole token takes it and passes.
 */
import { type MonotonicClock, performanceClock } from './monotonic-clock.js';
import { checkUint } from './uint-argument.js';

/** dnsdist holds rates and bursts in unsigned ints. */
export const MAX_RATE = 0xffffffff;

/** The mutable part of a token bucket; MaxQPSIPRule keeps one per subnet. */
export interface TokenBucketState {
  tokens: number;
  /** Clock milliseconds of the last check. */
  lastSeen: number;
}

/**
 * Refill `bucket` for the time since it was last checked, then take a token
 * if a whole one is there. True means the query is within the rate.
 */
export function takeToken(bucket: TokenBucketState, rate: number, burst: number, now: number): boolean {
  const elapsed = now - bucket.lastSeen;
  bucket.lastSeen = now;
  // A clock that went backwards adds nothing (dnsdist guards the same way).
  if (elapsed > 0) bucket.tokens += (rate * elapsed) / 1000;
  if (bucket.tokens > burst) bucket.tokens = burst;
  // "At least one whole token" keeps burst=1 meaning one query per 1/rate seconds.
  if (bucket.tokens >= 1) {
    bucket.tokens--;
    return true;
  }
  return false;
}

/** A bucket shared with other threads (data-plane workers; workers/shared-token-buckets.ts). */
export interface SharedBucket {
  take(): boolean;
  peek(): boolean;
}

export class QpsLimiter {
  /**
   * While a data-plane worker runs its configuration: the shared bucket
   * each new limiter (on the real clock) takes from instead of its own, so
   * limits apply to the total across workers.
   */
  static sharedBuckets: ((rate: number, burst: number) => SharedBucket | undefined) | undefined;

  readonly rate: number;
  readonly burst: number;
  readonly #now: MonotonicClock;
  readonly #bucket: TokenBucketState;
  readonly #shared: SharedBucket | undefined;

  /**
   * @param rate tokens added per second (0 lets nothing through once the initial burst is spent).
   * @param burst bucket size: how many queries a full bucket lets through at once.
   * @param now monotonic millisecond clock.
   * @param owner constructor name for error messages ("QPSAction").
   * @throws RuleArgumentError unless rate and burst are integers from 0 to 2^32-1.
   */
  constructor(rate: number, burst: number = rate, now: MonotonicClock = performanceClock, owner = 'QPSLimiter') {
    this.rate = checkUint(`${owner}.qps`, rate, MAX_RATE);
    this.burst = checkUint(`${owner}.burst`, burst, MAX_RATE);
    this.#now = now;
    this.#bucket = { tokens: burst, lastSeen: now() };
    this.#shared = now === performanceClock ? QpsLimiter.sharedBuckets?.(this.rate, this.burst) : undefined;
  }

  /** Take a token if there is one: true means under the limit. */
  check(): boolean {
    if (this.#shared) return this.#shared.take();
    return takeToken(this.#bucket, this.rate, this.burst, this.#now());
  }

  /** Would check() pass now? Takes nothing (a policy looking for a server under its limit). */
  peek(): boolean {
    if (this.#shared) return this.#shared.peek();
    const elapsed = this.#now() - this.#bucket.lastSeen;
    const tokens = this.#bucket.tokens + (elapsed > 0 ? (this.rate * elapsed) / 1000 : 0);
    return Math.min(tokens, this.burst) >= 1;
  }
}
