/**
 * A token bucket: `rate` tokens per second, at most `burst` banked. dnsdist
 * uses the same shape for a backend's `qps` and for QPS-based rules.
 * The clock is injectable so tests never sleep.
 */
export class QpsLimiter {
  readonly rate: number;
  readonly burst: number;
  #tokens: number;
  #last: number;
  readonly #now: () => number;

  /** @param now milliseconds, monotonic (defaults to performance.now). */
  constructor(rate: number, burst = rate, now: () => number = () => performance.now()) {
    this.rate = rate;
    this.burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#last = now();
  }

  #refill(): void {
    const t = this.#now();
    const elapsed = t - this.#last;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.rate) / 1000);
      this.#last = t;
    }
  }

  /** Take a token when one is available; false when over the rate. */
  check(): boolean {
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }

  /** Would a query pass now? (does not take a token) */
  checkOnly(): boolean {
    this.#refill();
    return this.#tokens >= 1;
  }
}
