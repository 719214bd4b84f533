import { NetmaskGroup } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';

/**
 * dnsdist's NetmaskGroupRule(nmg [, src [, quiet]]): the client address
 * (`src` true, the default) or the local address the query arrived on
 * (`src` false) is in the group. As in dnsdist, the group is copied: later
 * changes to `nmg` do not affect the rule.
 */
export class NetmaskGroupRule implements DNSRule {
  readonly #nmg = new NetmaskGroup();
  readonly #src: boolean;
  readonly #quiet: boolean;

  /** @param quiet show "Src: in-group" in showRules() instead of listing every range. */
  constructor(nmg: NetmaskGroup, src = true, quiet = false) {
    for (const mask of nmg.toStrings()) this.#nmg.addMask(mask);
    this.#src = src;
    this.#quiet = quiet;
  }

  matches(dq: DNSQuestion): boolean {
    return this.#nmg.match(this.#src ? dq.remote.bytes : dq.local.bytes);
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    const side = this.#src ? 'Src: ' : 'Dst: ';
    return this.#quiet ? `${side}in-group` : `${side}${this.#nmg.toString()}`;
  }
}
