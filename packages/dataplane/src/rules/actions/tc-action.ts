import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';

/**
 * dnsdist's TCAction(): answer with TC=1 so the client retries over TCP.
 * The header is rewritten by the rule walk (QR=1, TC=1, RA=RD, AA=0, AD=0),
 * and only for UDP queries: since dnsdist 1.7.0 a query that came over TCP
 * just goes on to the next rule.
 */
export class TCAction implements QueryAction {
  apply(_dq: DNSQuestion): DNSActionCode {
    return DNSAction.Truncate;
  }

  toString(): string {
    return 'tc=1 answer';
  }
}
