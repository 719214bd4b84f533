import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';

/** dnsdist's TCPRule(tcp): the query came over TCP (`tcp` true) or over UDP (`tcp` false). */
export class TCPRule implements DNSRule {
  readonly tcp: boolean;

  constructor(tcp: boolean) {
    this.tcp = tcp;
  }

  matches(dq: DNSQuestion): boolean {
    return (dq.transport === 'tcp') === this.tcp;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return this.tcp ? 'TCP' : 'UDP';
  }
}
