import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/**
 * dnsdist's DelayAction(ms): hold the answer to a UDP query back by `ms`
 * milliseconds (the query still goes to the backend at once); TCP answers
 * are never delayed. Goes on to the next rule.
 */
export class DelayAction implements QueryAction {
  readonly delayMs: number;

  /** @throws RuleArgumentError unless ms is an integer from 0 to 2^31-1. */
  constructor(ms: number) {
    this.delayMs = checkUint('DelayAction.milliseconds', ms, 0x7fffffff);
  }

  apply(dq: DNSQuestion): DNSActionCode {
    if (dq.transport === 'udp') dq.delayMs = this.delayMs;
    return DNSAction.Delay;
  }

  toString(): string {
    return `delay by ${this.delayMs} msec`;
  }
}
