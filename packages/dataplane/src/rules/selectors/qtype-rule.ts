import { qtypeName } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/** dnsdist's QTypeRule(qtype): the question's type is `qtype` (1 = A, 28 = AAAA, 255 = ANY, …). */
export class QTypeRule implements DNSRule {
  readonly qtype: number;

  /** @throws RuleArgumentError unless 0 <= qtype <= 65535. */
  constructor(qtype: number) {
    this.qtype = checkUint('QTypeRule.qtype', qtype, 0xffff);
  }

  matches(dq: DNSQuestion): boolean {
    return dq.view.qtype === this.qtype;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `qtype==${qtypeName(this.qtype)}`;
  }
}
