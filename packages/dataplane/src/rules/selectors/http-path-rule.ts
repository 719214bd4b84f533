import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSRule } from '../rule-types.js';

/**
 * dnsdist's HTTPPathRule(path): a DoH query whose HTTP path (without the
 * query string) is exactly `path`. Queries of other transports never match.
 */
export class HTTPPathRule implements DNSRule {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  matches(dq: DNSQuestion): boolean {
    return dq.http !== undefined && dq.http.path === this.path;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `url path == ${this.path}`;
  }
}
