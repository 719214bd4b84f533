import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import { type MonotonicClock, performanceClock } from '../monotonic-clock.js';
import { MAX_RATE, takeToken } from '../qps-limiter.js';
import type { DNSRule } from '../rule-types.js';
import { SubnetBuckets } from '../subnet-buckets.js';
import { checkUint } from '../uint-argument.js';

/**
 * Per-client buckets every data-plane worker shares (workers/shared-client-buckets.ts):
 * take() is true within the rate, false over it, undefined when the client
 * has no room there (the rule's own buckets count it then).
 */
export interface SharedClientBuckets {
  take(address: Uint8Array): boolean | undefined;
  /** Clients tracked and not expired. */
  readonly entries: number;
  clear(): void;
}

/** What a shared table needs to know of its rule. */
export interface SharedClientRule {
  qps: number;
  burst: number;
  v4Mask: number;
  v6Mask: number;
  expirationMs: number;
}

export interface MaxQPSIPRuleOptions {
  /** Prefix length IPv4 clients are grouped by. Default 32 (each address on its own). */
  v4Mask?: number;
  /** Prefix length IPv6 clients are grouped by. Default 64. */
  v6Mask?: number;
  /** Bucket size per subnet. Default: the qps. */
  burst?: number;
  /** Seconds a subnet may stay unseen before its bucket may be dropped. Default 300. */
  expiration?: number;
  /** Seconds between two clean-up passes; 0 never cleans up. Default 60. */
  cleanupDelay?: number;
  /** Each pass looks at no more than 1/scanFraction of the buckets (plus one). Default 10. */
  scanFraction?: number;
  /** Monotonic millisecond clock. Default performance.now. */
  now?: MonotonicClock;
}

/**
 * dnsdist's MaxQPSIPRule(qps [, v4Mask [, v6Mask [, burst [, expiration
 * [, cleanupDelay [, scanFraction]]]]]]): matches queries from clients whose
 * subnet (the address truncated to v4Mask/v6Mask bits) sends **more** than
 * `qps` queries per second, with a token bucket of `burst` per subnet.
 *
 * Stale subnets are dropped while queries are matched, not by a timer: at
 * most every `cleanupDelay` seconds, a pass removes buckets unseen for
 * `expiration` seconds, oldest first, looking at a bounded share of them.
 */
export class MaxQPSIPRule implements DNSRule {
  /**
   * With data-plane workers: the table a new rule (on the real clock)
   * counts clients in, shared by every worker, so that its limit applies
   * to what a client sends in total.
   */
  static sharedBuckets: ((rule: SharedClientRule) => SharedClientBuckets | undefined) | undefined;

  readonly qps: number;
  readonly burst: number;
  readonly v4Mask: number;
  readonly v6Mask: number;
  readonly #expirationMs: number;
  readonly #cleanupDelayMs: number;
  readonly #scanFraction: number;
  readonly #now: MonotonicClock;
  readonly #buckets: SubnetBuckets;
  readonly #shared: SharedClientBuckets | undefined;
  #lastCleanup: number;

  /** @throws RuleArgumentError for negative or fractional values, masks over 32/128, or a scanFraction of 0. */
  constructor(qps: number, options: MaxQPSIPRuleOptions = {}) {
    this.qps = checkUint('MaxQPSIPRule.qps', qps, MAX_RATE);
    this.v4Mask = checkUint('MaxQPSIPRule.v4Mask', options.v4Mask ?? 32, 32);
    this.v6Mask = checkUint('MaxQPSIPRule.v6Mask', options.v6Mask ?? 64, 128);
    this.burst = checkUint('MaxQPSIPRule.burst', options.burst ?? qps, MAX_RATE);
    this.#expirationMs = checkUint('MaxQPSIPRule.expiration', options.expiration ?? 300, MAX_RATE) * 1000;
    this.#cleanupDelayMs = checkUint('MaxQPSIPRule.cleanupDelay', options.cleanupDelay ?? 60, MAX_RATE) * 1000;
    // dnsdist would divide by zero here.
    this.#scanFraction = Math.max(1, checkUint('MaxQPSIPRule.scanFraction', options.scanFraction ?? 10, MAX_RATE));
    this.#now = options.now ?? performanceClock;
    this.#buckets = new SubnetBuckets(this.v4Mask, this.v6Mask);
    this.#lastCleanup = this.#now();
    this.#shared = options.now
      ? undefined
      : MaxQPSIPRule.sharedBuckets?.({
          qps: this.qps,
          burst: this.burst,
          v4Mask: this.v4Mask,
          v6Mask: this.v6Mask,
          expirationMs: this.#expirationMs,
        });
  }

  matches(dq: DNSQuestion): boolean {
    if (this.#shared) {
      const within = this.#shared.take(dq.remote.bytes);
      if (within !== undefined) return !within;
    }
    const now = this.#now();
    this.#cleanupIfDue(now);
    const bucket = this.#buckets.touch(dq.remote.bytes, this.burst, now);
    return !takeToken(bucket, this.qps, this.burst, now);
  }

  /** Responses count against the client the query came from. */
  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  /** Subnets currently tracked, stale ones not yet cleaned up included. */
  get entriesCount(): number {
    return this.#buckets.size + (this.#shared?.entries ?? 0);
  }

  /** Forget every subnet (all buckets start full again). */
  clear(): void {
    this.#buckets.clear();
    this.#shared?.clear();
  }

  /**
   * Run one clean-up pass now, regardless of cleanupDelay: drop buckets
   * unseen for `expiration` seconds. Returns how many were dropped.
   */
  cleanup(): number {
    const now = this.#now();
    this.#lastCleanup = now;
    return this.#buckets.expire(now - this.#expirationMs, Math.floor(this.#buckets.size / this.#scanFraction) + 1);
  }

  toString(): string {
    return `IP (/${this.v4Mask}, /${this.v6Mask}) match for QPS over ${this.qps} burst ${this.burst}`;
  }

  #cleanupIfDue(now: number): void {
    if (this.#cleanupDelayMs > 0 && this.#lastCleanup + this.#cleanupDelayMs < now) this.cleanup();
  }
}
