/**
 * The proxy's four rule chains and the counters they feed, behind the
 * query path's RulesEngine interface.
 */
import { Rcode } from '@dnsdist-ts/dns';
import type { DNSQuestion } from '../query/dns-question.js';
import type { DNSResponse } from '../query/dns-response.js';
import type { RulesEngine } from '../query/query-collaborators.js';
import { QueryVerdict, type QueryVerdictCode } from '../query/query-verdict.js';
import { applyQueryRules, QueryRulesResult } from './query-rules-evaluator.js';
import { applyResponseRules } from './response-rules-evaluator.js';
import { RuleChain } from './rule-chain.js';
import type { QueryAction, ResponseAction, ResponseSelector, Selector } from './rule-types.js';

/** The dnsdist counters the rules move (a ProxyCounters fits). */
export interface RuleCounters {
  ruleDrop: number;
  ruleNXDomain: number;
  ruleRefused: number;
  ruleServFail: number;
  ruleTruncated: number;
}

/** Which response chain: backend answers, cache hits, or answers the rules or the proxy made. */
export type ResponseChainName = 'response' | 'cacheHit' | 'selfAnswered';

export class RuleChains implements RulesEngine {
  /** addAction / showRules. */
  readonly query = new RuleChain<Selector, QueryAction>();
  /** addResponseAction / showResponseRules. */
  readonly response = new RuleChain<ResponseSelector, ResponseAction>();
  /** addCacheHitResponseAction / showCacheHitResponseRules. */
  readonly cacheHit = new RuleChain<ResponseSelector, ResponseAction>();
  /** addSelfAnsweredResponseAction / showSelfAnsweredResponseRules. */
  readonly selfAnswered = new RuleChain<ResponseSelector, ResponseAction>();
  readonly #counters: RuleCounters;
  /** Reused for every query: the walk itself allocates nothing. */
  readonly #result = new QueryRulesResult();

  constructor(counters: RuleCounters) {
    this.#counters = counters;
  }

  /**
   * Walk the query rules for `dq`. Counts rule-drop for a Drop;
   * rule-truncated for a TC answer; rule-nxdomain, rule-refused and
   * rule-servfail by the RCODE of an answer the rules made (RCodeAction
   * included, as dnsdist does since fixing its issue #11498; 1.7.3 missed those).
   * Self-answered is left to the caller, which counts every self-made answer.
   */
  processQuery(dq: DNSQuestion): QueryVerdictCode {
    const result = applyQueryRules(this.query.rules, dq, this.#result);
    const c = this.#counters;
    if (result.verdict === QueryVerdict.Drop) {
      c.ruleDrop++;
    } else if (result.verdict === QueryVerdict.Respond) {
      if (result.truncated) c.ruleTruncated++;
      if (result.rcode === Rcode.NXDomain) c.ruleNXDomain++;
      else if (result.rcode === Rcode.Refused) c.ruleRefused++;
      else if (result.rcode === Rcode.ServFail) c.ruleServFail++;
    }
    return result.verdict;
  }

  /** The last query walk's details (action, rule index), valid until the next processQuery. */
  get lastQueryResult(): Readonly<QueryRulesResult> {
    return this.#result;
  }

  /** Walk one response chain; false means drop the answer. */
  processResponse(dr: DNSResponse, chain: ResponseChainName): boolean {
    return applyResponseRules(this[chain].rules, dr);
  }
}
