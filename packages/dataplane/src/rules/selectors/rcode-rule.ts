import { RCODE_MASK, rcodeName, readFlags } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/**
 * dnsdist's RCodeRule(rcode): the header RCODE is `rcode`. Meant for
 * response chains (NXDOMAIN = 3, SERVFAIL = 2, …); on a query it reads the
 * query's header, which is 0 unless an action changed it.
 */
export class RCodeRule implements DNSRule {
  readonly rcode: number;

  /** @throws RuleArgumentError unless 0 <= rcode <= 15 (extended codes need ERCodeRule). */
  constructor(rcode: number) {
    this.rcode = checkUint('RCodeRule.rcode', rcode, 15);
  }

  matches(dq: DNSQuestion): boolean {
    return (readFlags(dq.packet) & RCODE_MASK) === this.rcode;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return (readFlags(dr.packet) & RCODE_MASK) === this.rcode;
  }

  toString(): string {
    return `rcode==${rcodeName(this.rcode)}`;
  }
}
