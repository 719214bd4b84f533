/**
 * Rewrite the POSIX extended-regex constructs that JavaScript reads
 * differently, so an expression written for dnsdist's regcomp() works the
 * same here. Handled: character classes such as `[[:alpha:]]`, a `]` right
 * after `[` or `[^` (a literal there in POSIX, an empty class in JS), and
 * backslashes inside brackets (literal in POSIX). Everything else passes
 * through unchanged.
 */

const CLASSES: Record<string, string> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  blank: ' \\t',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '\\x21-\\x7e',
  lower: 'a-z',
  print: '\\x20-\\x7e',
  punct: '!-\\/:-@\\[-`{-~',
  space: ' \\t\\n\\r\\f\\v',
  upper: 'A-Z',
  xdigit: '0-9A-Fa-f',
};

/**
 * The JavaScript source for a POSIX ERE. Unknown `[:name:]` classes are left
 * as written, which JS then reads as a plain bracket expression.
 */
export function posixEreToJs(ere: string): string {
  let out = '';
  let i = 0;
  while (i < ere.length) {
    const c = ere[i]!;
    if (c === '\\') {
      // Outside brackets, escapes mean the same in both dialects.
      out += ere.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c !== '[') {
      out += c;
      i++;
      continue;
    }
    // A bracket expression: copy it member by member.
    out += '[';
    i++;
    if (ere[i] === '^') {
      out += '^';
      i++;
    }
    if (ere[i] === ']') {
      out += '\\]';
      i++;
    }
    while (i < ere.length && ere[i] !== ']') {
      if (ere.startsWith('[:', i)) {
        const close = ere.indexOf(':]', i + 2);
        const cls = close > 0 ? CLASSES[ere.slice(i + 2, close)] : undefined;
        if (cls !== undefined) {
          out += cls;
          i = close + 2;
          continue;
        }
      }
      const m = ere[i]!;
      out += m === '\\' || m === '[' ? `\\${m}` : m;
      i++;
    }
    if (i < ere.length) {
      out += ']';
      i++;
    }
  }
  return out;
}
