import type { DNSResponse } from '../../query/dns-response.js';
import type { ResponseSelector, Selector } from '../rule-types.js';

/**
 * Match a sub-rule of a combinator against a response. Rules that know
 * responses decide themselves; query-only rules (a Lua selector, say) see
 * the query the response answers, which is what dnsdist gives them too.
 */
export function matchesResponseOf(rule: Selector & Partial<ResponseSelector>, dr: DNSResponse): boolean {
  return rule.matchesResponse !== undefined ? rule.matchesResponse(dr) : rule.matches(dr.question);
}
