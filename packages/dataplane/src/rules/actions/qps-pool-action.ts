import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { MonotonicClock } from '../monotonic-clock.js';
import { QpsLimiter } from '../qps-limiter.js';
import type { QueryAction } from '../rule-types.js';

/**
 * dnsdist's QPSPoolAction(maxqps, pool): send queries to `pool` (and stop
 * the rules) while they stay within `maxqps` per second; past that they go
 * on to the next rule instead.
 */
export class QPSPoolAction implements QueryAction {
  readonly pool: string;
  readonly #limiter: QpsLimiter;

  /** @throws RuleArgumentError unless maxqps is an integer from 0 to 2^32-1. */
  constructor(maxqps: number, pool: string, now?: MonotonicClock) {
    this.#limiter = new QpsLimiter(maxqps, maxqps, now, 'QPSPoolAction');
    this.pool = pool;
  }

  apply(dq: DNSQuestion): DNSActionCode {
    if (!this.#limiter.check()) return DNSAction.None;
    dq.pool = this.pool;
    return DNSAction.Pool;
  }

  toString(): string {
    return `max ${this.#limiter.rate} to pool ${this.pool}`;
  }
}
