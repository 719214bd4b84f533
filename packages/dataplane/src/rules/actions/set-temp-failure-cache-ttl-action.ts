import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/**
 * dnsdist's SetTempFailureCacheTTLAction(ttl) (TempFailureCacheTTLAction
 * before 1.6): a SERVFAIL or REFUSED answer to the query is cached for
 * `ttl` seconds instead of the cache's temporaryFailureTTL (0: not cached).
 * Goes on to the next rule.
 */
export class SetTempFailureCacheTTLAction implements QueryAction {
  readonly ttl: number;

  /** @throws RuleArgumentError unless 0 <= ttl <= 2^32-1. */
  constructor(ttl: number) {
    this.ttl = checkUint('SetTempFailureCacheTTLAction.ttl', ttl, 0xffffffff);
  }

  apply(dq: DNSQuestion): DNSActionCode {
    dq.tempFailureTTL = this.ttl;
    return DNSAction.None;
  }

  toString(): string {
    return `set tempfailure cache ttl to ${this.ttl}`;
  }
}
