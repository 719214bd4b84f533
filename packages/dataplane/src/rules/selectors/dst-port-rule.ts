import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/** dnsdist's DSTPortRule(port): the query came to a local address on this port. */
export class DSTPortRule implements DNSRule {
  readonly port: number;

  /** @throws RuleArgumentError unless 0 <= port <= 65535. */
  constructor(port: number) {
    this.port = checkUint('DSTPortRule.port', port, 0xffff);
  }

  matches(dq: DNSQuestion): boolean {
    return dq.local.port === this.port;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `dst port==${this.port}`;
  }
}
