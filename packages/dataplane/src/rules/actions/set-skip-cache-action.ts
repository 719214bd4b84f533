import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';

/**
 * dnsdist's SetSkipCacheAction() (SkipCacheAction before 1.6): the query
 * neither looks in its pool's packet cache nor has its answer stored
 * there. Goes on to the next rule.
 */
export class SetSkipCacheAction implements QueryAction {
  apply(dq: DNSQuestion): DNSActionCode {
    dq.skipCache = true;
    return DNSAction.None;
  }

  toString(): string {
    return 'skip cache';
  }
}
