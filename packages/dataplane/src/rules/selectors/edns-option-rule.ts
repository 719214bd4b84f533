import { findEdnsOption, findOptRecord } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/**
 * dnsdist's EDNSOptionRule(code): the message's OPT record carries an
 * option with this code (EDNSOptionCode.ECS = 8, COOKIE = 10, …).
 */
export class EDNSOptionRule implements DNSRule {
  readonly code: number;

  /** @throws RuleArgumentError unless 0 <= code <= 65535. */
  constructor(code: number) {
    this.code = checkUint('EDNSOptionRule.code', code, 0xffff);
  }

  matches(dq: DNSQuestion): boolean {
    return findEdnsOption(dq.packet, dq.length, dq.view.ednsOffset, this.code) >= 0;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return findEdnsOption(dr.packet, dr.length, findOptRecord(dr.packet, dr.length), this.code) >= 0;
  }

  toString(): string {
    return `ednsoptcode==${this.code}`;
  }
}
