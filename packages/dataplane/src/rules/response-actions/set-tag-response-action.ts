import { DNSResponseAction, type DNSResponseActionCode } from '../../query/dns-action.js';
import type { DNSResponse } from '../../query/dns-response.js';
import type { ResponseAction } from '../rule-types.js';

/**
 * dnsdist's SetTagResponseAction(name, value): tag the response (the tags
 * are the query's, so later response rules and Lua see them), replacing any
 * value the tag had. Goes on to the next rule.
 */
export class SetTagResponseAction implements ResponseAction {
  readonly tag: string;
  readonly value: string;

  constructor(tag: string, value: string) {
    this.tag = tag;
    this.value = value;
  }

  applyResponse(dr: DNSResponse): DNSResponseActionCode {
    dr.question.setTag(this.tag, this.value);
    return DNSResponseAction.None;
  }

  toString(): string {
    return `set tag '${this.tag}' to value '${this.value}'`;
  }
}
