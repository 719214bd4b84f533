import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { MonotonicClock } from '../monotonic-clock.js';
import { QpsLimiter } from '../qps-limiter.js';
import type { QueryAction } from '../rule-types.js';

/**
 * dnsdist's QPSAction(maxqps): drop the queries that exceed `maxqps` per
 * second (a token bucket of `maxqps` shared by everything the rule
 * matches); the others go on to the next rule.
 */
export class QPSAction implements QueryAction {
  readonly #limiter: QpsLimiter;

  /** @throws RuleArgumentError unless maxqps is an integer from 0 to 2^32-1. */
  constructor(maxqps: number, now?: MonotonicClock) {
    this.#limiter = new QpsLimiter(maxqps, maxqps, now, 'QPSAction');
  }

  apply(_dq: DNSQuestion): DNSActionCode {
    return this.#limiter.check() ? DNSAction.None : DNSAction.Drop;
  }

  toString(): string {
    return `qps limit to ${this.#limiter.rate}`;
  }
}
