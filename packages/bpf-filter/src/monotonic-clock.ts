/**
 * Expiries are CLOCK_MONOTONIC nanoseconds: the same clock in every
 * process of one boot, which is exactly as long as pinned maps live, and
 * immune to wall-clock jumps. (process.hrtime reads CLOCK_MONOTONIC.)
 */
export type MonotonicNs = bigint;

export function nowNs(): MonotonicNs {
  return process.hrtime.bigint();
}

export function secondsFromNow(seconds: number, now: MonotonicNs = nowNs()): MonotonicNs {
  return now + BigInt(Math.round(seconds * 1e9));
}

/** Whole seconds left until `until` (0 once passed), as dnsdist shows them. */
export function secondsLeft(until: MonotonicNs, now: MonotonicNs = nowNs()): number {
  return until > now ? Number((until - now) / 1_000_000_000n) : 0;
}
