import { DNSResponseAction, type DNSResponseActionCode } from '../../query/dns-action.js';
import type { DNSResponse } from '../../query/dns-response.js';
import type { ResponseAction } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/**
 * dnsdist's DelayResponseAction(ms): hold the answer to a UDP query back by
 * `ms` milliseconds; TCP answers are never delayed. Goes on to the next rule.
 */
export class DelayResponseAction implements ResponseAction {
  readonly delayMs: number;

  /** @throws RuleArgumentError unless ms is an integer from 0 to 2^31-1. */
  constructor(ms: number) {
    this.delayMs = checkUint('DelayResponseAction.milliseconds', ms, 0x7fffffff);
  }

  applyResponse(dr: DNSResponse): DNSResponseActionCode {
    if (dr.question.transport === 'udp') dr.delayMs = this.delayMs;
    return DNSResponseAction.Delay;
  }

  toString(): string {
    return `delay by ${this.delayMs} msec`;
  }
}
