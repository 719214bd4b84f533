import { HeaderFlag, readFlags } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';

/**
 * dnsdist's RDRule(): the RD (recursion desired) bit is set. The bit is read
 * from the packet as it is now, so an earlier NoRecurseAction is seen; on a
 * response chain it is the response's bit.
 */
export class RDRule implements DNSRule {
  matches(dq: DNSQuestion): boolean {
    return (readFlags(dq.packet) & HeaderFlag.RD) !== 0;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return (readFlags(dr.packet) & HeaderFlag.RD) !== 0;
  }

  toString(): string {
    return 'rd==1';
  }
}
