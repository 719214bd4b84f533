import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/** dnsdist's QClassRule(qclass): the question's class is `qclass` (1 = IN, 3 = CH, …). */
export class QClassRule implements DNSRule {
  readonly qclass: number;

  /** @throws RuleArgumentError unless 0 <= qclass <= 65535. */
  constructor(qclass: number) {
    this.qclass = checkUint('QClassRule.qclass', qclass, 0xffff);
  }

  matches(dq: DNSQuestion): boolean {
    return dq.view.qclass === this.qclass;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `qclass==${this.qclass}`;
  }
}
