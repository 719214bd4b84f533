import { HeaderFlag, readFlags, writeFlags } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';

/**
 * dnsdist's SetNoRecurseAction() (NoRecurseAction before 1.6.0): clear the
 * RD bit of the query sent on to the backend. Goes on to the next rule. If
 * the query ends up answered by a rule instead, the answer carries the
 * client's own RD bit again, as dnsdist restores it.
 */
export class NoRecurseAction implements QueryAction {
  apply(dq: DNSQuestion): DNSActionCode {
    writeFlags(dq.packet, readFlags(dq.packet) & ~HeaderFlag.RD);
    return DNSAction.None;
  }

  toString(): string {
    return 'set rd=0';
  }
}

/** The 1.6.0+ name of NoRecurseAction. */
export { NoRecurseAction as SetNoRecurseAction };
