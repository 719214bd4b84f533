import { DNSName } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';

/**
 * dnsdist's QNameRule(name): the query name is exactly `name`, ignoring
 * ASCII case. Sub-names do not match (SuffixMatchNodeRule does that).
 */
export class QNameRule implements DNSRule {
  readonly name: DNSName;
  /** Lower-cased presentation form, the shape the packet view gives the qname in: one string compare per query. */
  readonly #lowered: string;

  /** @throws DnsNameError when `name` is a string that is not a valid name. */
  constructor(name: DNSName | string) {
    this.name = typeof name === 'string' ? DNSName.fromString(name) : name;
    this.#lowered = this.name.toLowerCase().toString();
  }

  matches(dq: DNSQuestion): boolean {
    return dq.view.qname === this.#lowered;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `qname==${this.name.toString()}`;
  }
}
