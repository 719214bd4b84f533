import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';

/** dnsdist's DropAction(): drop the query without an answer; stops the rules. */
export class DropAction implements QueryAction {
  apply(_dq: DNSQuestion): DNSActionCode {
    return DNSAction.Drop;
  }

  toString(): string {
    return 'drop';
  }
}
