import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule, ResponseSelector, Selector } from '../rule-types.js';
import { matchesResponseOf } from './response-match.js';

/** dnsdist's NotRule(rule): matches when `rule` does not. */
export class NotRule implements DNSRule {
  readonly rule: Selector & Partial<ResponseSelector>;

  constructor(rule: Selector & Partial<ResponseSelector>) {
    this.rule = rule;
  }

  matches(dq: DNSQuestion): boolean {
    return !this.rule.matches(dq);
  }

  matchesResponse(dr: DNSResponse): boolean {
    return !matchesResponseOf(this.rule, dr);
  }

  toString(): string {
    return `!(${this.rule.toString()})`;
  }
}
