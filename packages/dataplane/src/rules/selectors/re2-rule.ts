import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSResponse } from '../../query/dns-response.js';
import { InvalidRegexError } from '../rule-errors.js';
import type { DNSRule } from '../rule-types.js';

/** The longest question name on the wire. */
const MAX_WIRE_NAME = 255;

/**
 * Rewrite the RE2 forms JavaScript spells differently: leading inline
 * flags `(?i)`, `(?s)`, `(?m)` (JavaScript takes them as RegExp flags),
 * named groups `(?P<name>…)`, and the text anchors `\A` and `\z`.
 * Returns the source and the flags.
 */
export function re2ToJs(expression: string): { source: string; flags: string } {
  let source = expression;
  let flags = '';
  const leading = /^\(\?([ims]+)\)/.exec(source);
  if (leading) {
    flags = [...new Set(leading[1])].join('');
    source = source.slice(leading[0].length);
  }
  // Outside a character class only; an escaped backslash stays as it is.
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && next === 'A') out += '^';
      else if (!inClass && next === 'z') out += '$';
      else out += c + next;
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (source[i + 1] === '^') out += source[++i];
      if (source[i + 1] === ']') out += source[++i];
      continue;
    }
    if (c === '(' && source.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
      continue;
    }
    out += c;
  }
  return { source: out, flags };
}

/**
 * dnsdist's RE2Rule(regex): the expression must match the whole qname,
 * written in its original case without its trailing dot ("www.Example.com"):
 * RE2's full match, case-sensitive unless the expression starts with `(?i)`.
 *
 * The expression runs as a JavaScript RegExp anchored at both ends, after
 * re2ToJs. JavaScript also accepts what RE2 refuses (back-references,
 * look-arounds); such expressions work here and fail in dnsdist.
 */
export class RE2Rule implements DNSRule {
  readonly expression: string;
  readonly #regex: RegExp;
  /** The wire form of the last name tested (original case) and its result: floods repeat names. */
  readonly #lastWire = new Uint8Array(MAX_WIRE_NAME);
  #lastLength = 0;
  #lastResult = false;

  /** @throws InvalidRegexError when the expression does not compile. */
  constructor(expression: string) {
    this.expression = expression;
    try {
      const { source, flags } = re2ToJs(expression);
      this.#regex = new RegExp(`^(?:${source})$`, flags);
    } catch (err) {
      throw new InvalidRegexError(
        expression,
        err,
        'it must match the whole qname, in its original case and without its trailing dot (RE2 syntax)',
      );
    }
  }

  matches(dq: DNSQuestion): boolean {
    const view = dq.view;
    const start = view.qnameOffset;
    const length = view.qnameEnd - start;
    const buf = dq.packet;
    if (length === this.#lastLength && length <= MAX_WIRE_NAME) {
      let same = true;
      for (let i = 0; i < length; i++) {
        if (buf[start + i] !== this.#lastWire[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.#lastResult;
    }
    // dnsdist matches toStringNoDot(); the root becomes "".
    const text = view.qnameAsDNSName().toString();
    this.#lastResult = this.#regex.test(text === '.' ? '' : text.slice(0, -1));
    if (length <= MAX_WIRE_NAME) {
      this.#lastWire.set(buf.subarray(start, start + length));
      this.#lastLength = length;
    }
    return this.#lastResult;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  toString(): string {
    return `RE2 match: ${this.expression}`;
  }
}
