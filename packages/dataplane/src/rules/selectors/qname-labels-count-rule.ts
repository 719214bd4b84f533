import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/**
 * dnsdist's QNameLabelsCountRule(min, max): the question name has fewer
 * than `min` or more than `max` labels (the root counts none, so
 * "www.example.com." has 3). Note the sense: it matches names outside the range.
 */
export class QNameLabelsCountRule implements DNSRule {
  readonly min: number;
  readonly max: number;

  /** @throws RuleArgumentError unless both are integers from 0 to 255. */
  constructor(min: number, max: number) {
    this.min = checkUint('QNameLabelsCountRule.min', min, 0xff);
    this.max = checkUint('QNameLabelsCountRule.max', max, 0xff);
  }

  matches(dq: DNSQuestion): boolean {
    const wire = dq.view.qnameLower;
    const end = dq.view.qnameWireLength;
    let labels = 0;
    for (let p = 0; p < end && wire[p] !== 0; p += wire[p]! + 1) labels++;
    return labels < this.min || labels > this.max;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `labels count < ${this.min} || labels count > ${this.max}`;
  }
}
