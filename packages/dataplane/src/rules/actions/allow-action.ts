import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';

/** dnsdist's AllowAction(): stop the rules and let the query go on to a backend. */
export class AllowAction implements QueryAction {
  apply(_dq: DNSQuestion): DNSActionCode {
    return DNSAction.Allow;
  }

  toString(): string {
    return 'allow';
  }
}
