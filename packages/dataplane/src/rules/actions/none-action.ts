import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';

/** dnsdist's NoneAction(): do nothing and go on with the next rule (the match is still counted). */
export class NoneAction implements QueryAction {
  apply(_dq: DNSQuestion): DNSActionCode {
    return DNSAction.None;
  }

  toString(): string {
    return 'no op';
  }
}
