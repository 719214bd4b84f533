import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSResponse } from '../../query/dns-response.js';
import { InvalidRegexError } from '../rule-errors.js';
import type { DNSRule } from '../rule-types.js';
import { posixEreToJs } from './posix-regex.js';

/**
 * dnsdist's HTTPPathRegexRule(regex): a DoH query whose HTTP path (without
 * the query string) matches the POSIX extended expression, ignoring case
 * as dnsdist's regex class does.
 */
export class HTTPPathRegexRule implements DNSRule {
  readonly expression: string;
  readonly #regex: RegExp;

  /** @throws InvalidRegexError when the expression does not compile. */
  constructor(expression: string) {
    this.expression = expression;
    try {
      this.#regex = new RegExp(posixEreToJs(expression), 'i');
    } catch (err) {
      throw new InvalidRegexError(expression, err);
    }
  }

  matches(dq: DNSQuestion): boolean {
    return dq.http !== undefined && this.#regex.test(dq.http.path);
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `http path ~ ${this.expression}`;
  }
}
