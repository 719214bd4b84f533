import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule, ResponseSelector, Selector } from '../rule-types.js';
import { matchesResponseOf } from './response-match.js';

/**
 * dnsdist's AndRule({r1, r2, …}): all sub-rules match. They are tried in
 * order and the first that fails ends the check, so later stateful rules
 * (QPS counters) only see queries the earlier ones let through. An empty
 * list matches everything.
 */
export class AndRule implements DNSRule {
  readonly rules: readonly (Selector & Partial<ResponseSelector>)[];

  constructor(rules: readonly (Selector & Partial<ResponseSelector>)[]) {
    this.rules = [...rules];
  }

  matches(dq: DNSQuestion): boolean {
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) if (!rules[i]!.matches(dq)) return false;
    return true;
  }

  matchesResponse(dr: DNSResponse): boolean {
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) if (!matchesResponseOf(rules[i]!, dr)) return false;
    return true;
  }

  toString(): string {
    return this.rules.map((r) => `(${r.toString()})`).join(' && ');
  }
}
