/**
 * Walking a response chain with dnsdist 1.7's applyRulesToResponse
 * semantics: Allow and HeaderModify stop and send, Drop stops and drops,
 * ServFail sets the response's RCODE to SERVFAIL then stops and sends;
 * Delay, None and unknown codes go on to the next rule.
 */
import { RCODE_MASK, Rcode, readFlags, writeFlags } from '@dnsdist-ts/dns';
import { DNSResponseAction } from '../query/dns-action.js';
import type { DNSResponse } from '../query/dns-response.js';
import type { RuleEntry } from './rule-chain.js';
import type { ResponseAction, ResponseSelector } from './rule-types.js';

/** A response rule as the walk sees it. */
export type ResponseRule = RuleEntry<ResponseSelector, ResponseAction>;

/**
 * Walk `rules` for `dr`, counting a hit on every matching rule. Returns
 * false when the response is to be dropped, true when it is to be sent
 * (possibly changed by the actions).
 */
export function applyResponseRules(rules: readonly ResponseRule[], dr: DNSResponse): boolean {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (!rule.selector.matchesResponse(dr)) continue;
    rule.hits++;
    switch (rule.action.applyResponse(dr)) {
      case DNSResponseAction.Allow:
      case DNSResponseAction.HeaderModify:
        return true;
      case DNSResponseAction.Drop:
        return false;
      case DNSResponseAction.ServFail:
        writeFlags(dr.packet, (readFlags(dr.packet) & ~RCODE_MASK) | Rcode.ServFail);
        return true;
      default:
        // Delay (the action set dr.delayMs), None and anything unknown.
        break;
    }
  }
  return true;
}
