import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import { InvalidRegexError } from '../rule-errors.js';
import type { DNSRule } from '../rule-types.js';
import { posixEreToJs } from './posix-regex.js';

/**
 * dnsdist's RegexRule(regex): the expression matches somewhere in the qname,
 * written without its trailing dot ("www.example.com"), ignoring case.
 *
 * dnsdist compiles a POSIX extended regex (regcomp with REG_EXTENDED |
 * REG_ICASE | REG_NOSUB); this uses a JavaScript RegExp with the `i` flag
 * after rewriting the POSIX-only bracket syntax (`[[:digit:]]`, `[]a]`,
 * backslashes inside brackets). Remaining differences: JS also accepts
 * its own extensions (`\d`, `\b`, lazy quantifiers, look-arounds), which
 * POSIX would reject or read literally, and back-references behave
 * differently. POSIX leftmost-longest matching does not matter here, since
 * only whether there is a match counts. The packet view hands the name
 * over lower-cased; with the `i` flag that makes no difference.
 */
export class RegexRule implements DNSRule {
  readonly expression: string;
  readonly #regex: RegExp;
  /**
   * The last name tested and its result: floods repeat names, and this
   * skips both the regex and the dot-less copy of the name for them. ""
   * is never a qname (those end in a dot), so it starts out as "none".
   */
  #lastName = '';
  #lastResult = false;

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
    const qname = dq.view.qname;
    if (qname !== this.#lastName) {
      // dnsdist matches toStringNoDot(); the root becomes "".
      this.#lastResult = this.#regex.test(qname.slice(0, -1));
      this.#lastName = qname;
    }
    return this.#lastResult;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `Regex: ${this.expression}`;
  }
}
