import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSResponse } from '../../query/dns-response.js';
import { InvalidRegexError } from '../rule-errors.js';
import type { DNSRule } from '../rule-types.js';
import { posixEreToJs } from './posix-regex.js';

/**
 * dnsdist's HTTPHeaderRule(name, regex): a DoH query with a header called
 * `name` (any case) whose value matches the POSIX extended expression,
 * ignoring case.
 */
export class HTTPHeaderRule implements DNSRule {
  readonly header: string;
  readonly expression: string;
  readonly #name: string;
  readonly #regex: RegExp;

  /** @throws InvalidRegexError when the expression does not compile. */
  constructor(header: string, expression: string) {
    this.header = header;
    this.#name = header.toLowerCase();
    this.expression = expression;
    try {
      this.#regex = new RegExp(posixEreToJs(expression), 'i');
    } catch (err) {
      throw new InvalidRegexError(expression, err);
    }
  }

  matches(dq: DNSQuestion): boolean {
    const value = dq.http?.headers.get(this.#name);
    return value !== undefined && this.#regex.test(value);
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `http[${this.header}] ~ ${this.expression}`;
  }
}
