import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/**
 * dnsdist's QNameWireLengthRule(min, max): the question name's wire
 * length (length bytes and the root byte included: 17 for
 * "www.example.com.") is below `min` or above `max`. It matches names
 * outside the range.
 */
export class QNameWireLengthRule implements DNSRule {
  readonly min: number;
  readonly max: number;

  /** @throws RuleArgumentError unless both are integers from 0 to 65535. */
  constructor(min: number, max: number) {
    this.min = checkUint('QNameWireLengthRule.min', min, 0xffff);
    this.max = checkUint('QNameWireLengthRule.max', max, 0xffff);
  }

  matches(dq: DNSQuestion): boolean {
    const length = dq.view.qnameWireLength;
    return length < this.min || length > this.max;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `wire length < ${this.min} || wire length > ${this.max}`;
  }
}
