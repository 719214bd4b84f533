import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { MonotonicClock } from '../monotonic-clock.js';
import { QpsLimiter } from '../qps-limiter.js';
import type { DNSRule } from '../rule-types.js';

/**
 * dnsdist's MaxQPSRule(qps [, burst]): matches while the traffic it sees
 * stays **within** `qps` queries per second overall (a token bucket of
 * `burst`, default `qps`); queries over the rate do not match. Every query
 * evaluated spends a token when one is there.
 */
export class MaxQPSRule implements DNSRule {
  readonly #limiter: QpsLimiter;

  /** @throws RuleArgumentError unless qps and burst are integers from 0 to 2^32-1. */
  constructor(qps: number, burst: number = qps, now?: MonotonicClock) {
    this.#limiter = new QpsLimiter(qps, burst, now, 'MaxQPSRule');
  }

  matches(_dq: DNSQuestion): boolean {
    return this.#limiter.check();
  }

  matchesResponse(_dr: DNSResponse): boolean {
    return this.#limiter.check();
  }

  toString(): string {
    return `Max ${this.#limiter.rate} qps`;
  }
}
