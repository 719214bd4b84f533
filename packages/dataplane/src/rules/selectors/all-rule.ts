import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';

/** dnsdist's AllRule(): matches every query and every response. */
export class AllRule implements DNSRule {
  matches(_dq: DNSQuestion): boolean {
    return true;
  }

  matchesResponse(_dr: DNSResponse): boolean {
    return true;
  }

  toString(): string {
    return 'All';
  }
}
