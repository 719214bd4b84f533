import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';

/**
 * dnsdist's SetTagAction(name, value): tag the query (the tag follows it to
 * its response), replacing any value the tag had (the 1.7.0 behaviour).
 * Goes on to the next rule.
 */
export class SetTagAction implements QueryAction {
  readonly tag: string;
  readonly value: string;

  constructor(tag: string, value: string) {
    this.tag = tag;
    this.value = value;
  }

  apply(dq: DNSQuestion): DNSActionCode {
    dq.setTag(this.tag, this.value);
    return DNSAction.None;
  }

  toString(): string {
    return `set tag '${this.tag}' to value '${this.value}'`;
  }
}
