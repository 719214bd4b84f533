import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule, ResponseSelector, Selector } from '../rule-types.js';
import { matchesResponseOf } from './response-match.js';

/**
 * dnsdist's OrRule({r1, r2, …}): at least one sub-rule matches. They are
 * tried in order and the first match ends the check. An empty list matches
 * nothing.
 */
export class OrRule implements DNSRule {
  readonly rules: readonly (Selector & Partial<ResponseSelector>)[];

  constructor(rules: readonly (Selector & Partial<ResponseSelector>)[]) {
    this.rules = [...rules];
  }

  matches(dq: DNSQuestion): boolean {
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) if (rules[i]!.matches(dq)) return true;
    return false;
  }

  matchesResponse(dr: DNSResponse): boolean {
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) if (matchesResponseOf(rules[i]!, dr)) return true;
    return false;
  }

  toString(): string {
    return this.rules.map((r) => `(${r.toString()})`).join(' || ');
  }
}
