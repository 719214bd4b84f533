import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';

/**
 * dnsdist's TagRule(name [, value]): the query carries tag `name` (set by
 * SetTagAction or Lua), with exactly `value` when one is given. Response
 * rules see the tags of the query they answer.
 */
export class TagRule implements DNSRule {
  readonly tag: string;
  readonly value: string | undefined;

  constructor(tag: string, value?: string) {
    this.tag = tag;
    this.value = value;
  }

  matches(dq: DNSQuestion): boolean {
    const tags = dq.tags;
    if (tags === undefined) return false;
    const found = tags.get(this.tag);
    if (found === undefined) return false;
    return this.value === undefined || found === this.value;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `tag '${this.tag}' is set${this.value === undefined ? '' : ` to '${this.value}'`}`;
  }
}
