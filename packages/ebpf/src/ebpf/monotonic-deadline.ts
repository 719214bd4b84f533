import { nowNs, type MonotonicNs } from '@dnsdist-ts/bpf-filter';

/**
 * The dynamic-block engine keeps deadlines as performance.now() milliseconds;
 * the filter's expiry store keeps CLOCK_MONOTONIC nanoseconds so that other
 * processes (a restarted proxy) can read them. Both clocks are Node's
 * uv_hrtime underneath, so they differ by a constant, measured once.
 */
const OFFSET_NS: MonotonicNs = nowNs() - BigInt(Math.round(performance.now() * 1e6));

/** A performance.now() deadline (ms) as CLOCK_MONOTONIC ns. */
export function monotonicNsFromPerformance(ms: number): MonotonicNs {
  if (!Number.isFinite(ms)) throw new RangeError(`a kernel block deadline must be a finite performance.now() value, got ${ms}`);
  return OFFSET_NS + BigInt(Math.round(ms * 1e6));
}

/** A CLOCK_MONOTONIC ns deadline as performance.now() ms. */
export function performanceFromMonotonicNs(ns: MonotonicNs): number {
  return Number(ns - OFFSET_NS) / 1e6;
}
