import { HeaderFlag, readFlags, writeFlags } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';

/**
 * dnsdist's SetDisableValidationAction() (DisableValidationAction before
 * 1.6.0): set the CD bit so the backend skips DNSSEC validation. Goes on
 * to the next rule.
 */
export class DisableValidationAction implements QueryAction {
  apply(dq: DNSQuestion): DNSActionCode {
    writeFlags(dq.packet, readFlags(dq.packet) | HeaderFlag.CD);
    return DNSAction.None;
  }

  toString(): string {
    return 'set cd=1';
  }
}

/** The 1.6.0+ name of DisableValidationAction. */
export { DisableValidationAction as SetDisableValidationAction };
