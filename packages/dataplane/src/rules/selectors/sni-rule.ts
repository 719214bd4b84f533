import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';

/**
 * dnsdist's SNIRule(name): the query came on a TLS session whose client
 * asked for exactly this server name (compared as sent, as dnsdist does).
 * Plain UDP/TCP queries never match.
 */
export class SNIRule implements DNSRule {
  readonly serverName: string;

  constructor(serverName: string) {
    this.serverName = serverName;
  }

  matches(dq: DNSQuestion): boolean {
    return dq.session !== undefined && dq.session.serverName === this.serverName;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `SNI == ${this.serverName}`;
  }
}
