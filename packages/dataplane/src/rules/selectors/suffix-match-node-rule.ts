import type { SuffixMatchNode } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { SuffixSet } from '../suffix-set.js';

/**
 * dnsdist's SuffixMatchNodeRule(smn [, quiet]): the qname equals or is below
 * one of the node's domains. Like dnsdist (which copies the node), the rule
 * keeps the domains the node held when the rule was made: adding to the node
 * afterwards does not change the rule.
 */
export class SuffixMatchNodeRule implements DNSRule {
  readonly #set: SuffixSet;
  readonly #description: string;
  readonly #quiet: boolean;

  /** @param quiet show "qname==in-set" in showRules() instead of listing every domain. */
  constructor(smn: SuffixMatchNode, quiet = false) {
    this.#set = new SuffixSet(smn.toStrings());
    this.#description = smn.toString();
    this.#quiet = quiet;
  }

  matches(dq: DNSQuestion): boolean {
    return this.#set.matches(dq.view.qname);
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return this.#quiet ? 'qname==in-set' : `qname in ${this.#description}`;
  }
}
