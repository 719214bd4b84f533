import { DNSName } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';

/** The key a name has in a DNSNameSet: its lower-cased text, as DnsQueryView.qname writes it. */
export function nameSetKey(name: DNSName | string): string {
  return (typeof name === 'string' ? DNSName.fromString(name) : name).toLowerCase().toString();
}

/**
 * dnsdist's QNameSetRule(set): the question name is one of the set's names
 * exactly (ignoring case; names below them do not match). The rule keeps a
 * copy: names added to the set later do not count, as in dnsdist.
 */
export class QNameSetRule implements DNSRule {
  readonly #names: ReadonlySet<string>;

  /** @param names names as DNSNames or text. */
  constructor(names: Iterable<DNSName | string>) {
    const keys = new Set<string>();
    for (const n of names) keys.add(nameSetKey(n));
    this.#names = keys;
  }

  matches(dq: DNSQuestion): boolean {
    return this.#names.has(dq.view.qname);
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `qname in DNSNameSet(${this.#names.size} FQDNs)`;
  }
}
