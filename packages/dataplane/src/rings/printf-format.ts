/**
 * The subset of printf / boost::format that dnsdist's console tables use
 * (`%4d`, `%-47s`, `%-7.1f`, `%%`), with C's rounding, so our tables are
 * byte-identical to dnsdist's.
 *
 * Like boost::format, a conversion accepts any argument type: a string
 * given to `%d` or `%f` is printed as is (dnsdist prints its header line
 * through the row format this way), and precision never truncates strings.
 */

const SPEC = /%([-+ 0#]*)(\d*)(?:\.(\d+))?([dsf%])/g;

/**
 * `value` with `digits` decimals, rounded as glibc's printf does: to the
 * nearest, and an exact tie (only possible when the binary value is exactly
 * halfway) to the even digit. `Number.prototype.toFixed` rounds ties up,
 * which prints 0.25 as "0.3" where C prints "0.2".
 */
export function formatFixed(value: number, digits: number): string {
  if (Number.isNaN(value)) return value < 0 ? '-nan' : 'nan';
  if (!Number.isFinite(value)) return value < 0 ? '-inf' : 'inf';
  const negative = value < 0 || Object.is(value, -0);
  const abs = Math.abs(value);
  // toFixed switches to exponent notation from 1e21; nothing printed here gets near that.
  if (abs >= 1e21) return value.toFixed(digits);
  let text = abs.toFixed(digits);
  // 100 decimals is exact for every double >= 2^-47, and smaller ones cannot be ties at a few decimals.
  const exact = abs.toFixed(100);
  const cut = exact.indexOf('.') + 1 + digits;
  if (/^50*$/.test(exact.slice(cut))) {
    const down = exact.slice(0, digits === 0 ? cut - 1 : cut);
    const lastDigit = down.charCodeAt(down.length - 1) - 0x30;
    if (lastDigit % 2 === 0) text = down;
  }
  return negative ? `-${text}` : text;
}

function pad(text: string, width: number, left: boolean, zero: boolean): string {
  if (text.length >= width) return text;
  if (left) return text.padEnd(width, ' ');
  if (zero) {
    const sign = text.startsWith('-') || text.startsWith('+') ? text[0]! : '';
    return sign + text.slice(sign.length).padStart(width - sign.length, '0');
  }
  return text.padStart(width, ' ');
}

/**
 * Format `args` into `format`, printf style. Supports flags `-`, `+`,
 * space and `0`, a width, a precision, and the conversions d, s, f and %%.
 */
export function formatPrintf(format: string, args: readonly (string | number)[]): string {
  let next = 0;
  return format.replace(SPEC, (_match, flags: string, width: string, precision: string | undefined, conversion: string) => {
    if (conversion === '%') return '%';
    const arg = args[next++];
    const left = flags.includes('-');
    const numeric = typeof arg === 'number';
    let text: string;
    if (!numeric) {
      text = arg ?? '';
    } else if (conversion === 'f') {
      text = formatFixed(arg, precision === undefined ? 6 : Number(precision));
    } else if (conversion === 'd') {
      text = String(Math.trunc(arg));
    } else {
      text = String(arg);
    }
    if (numeric && conversion !== 's' && !text.startsWith('-')) {
      if (flags.includes('+')) text = `+${text}`;
      else if (flags.includes(' ')) text = ` ${text}`;
    }
    return pad(text, width === '' ? 0 : Number(width), left, numeric && flags.includes('0') && !left);
  });
}
