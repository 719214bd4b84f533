/**
 * DNSName: a domain name as dnsdist's DNSName holds it, in wire form with
 * its original case. Comparisons fold ASCII A-Z only, as DNS requires
 * (RFC 4343); other bytes, including UTF-8, compare exactly.
 */
import { DnsNameError } from './errors.js';

/** Longest label, in bytes (RFC 1035 2.3.4). */
export const MAX_LABEL_LENGTH = 63;
/** Longest name in wire form, length bytes and the root byte included (RFC 1035 2.3.4). */
export const MAX_NAME_LENGTH = 255;

const DOT = 0x2e;
const BACKSLASH = 0x5c;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** What `DNSName.fromWire` read: the name and how many bytes it took. */
export interface WireNameRead {
  name: DNSName;
  /** Bytes consumed from the offset, the root byte included. */
  consumed: number;
}

function lowerByte(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

function isDigit(c: number | undefined): c is number {
  return c !== undefined && c >= DIGIT_0 && c <= DIGIT_9;
}

/** Keep messages readable: the full input is on the error's `input`. */
function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Case-insensitive comparison of `len` bytes; length bytes (<= 63) are below 'A' and never folded. */
function equalFolded(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number, len: number): boolean {
  for (let i = 0; i < len; i++) {
    if (lowerByte(a[aStart + i]!) !== lowerByte(b[bStart + i]!)) return false;
  }
  return true;
}

export class DNSName {
  /** The root name ".". */
  static readonly ROOT: DNSName = new DNSName(Buffer.from([0]));

  /** Wire form in original case; never handed out, so it can be shared between names. */
  readonly #wire: Buffer;

  private constructor(wire: Buffer) {
    this.#wire = wire;
  }

  /**
   * Parse a name in presentation form. The trailing dot is optional and
   * "." is the root. `\.` and `\\` (any `\X`) put X in the label as-is, and
   * `\DDD` (exactly three decimal digits, at most 255) puts that byte.
   * Non-ASCII characters go into labels as their UTF-8 bytes, as dnsdist
   * stores whatever bytes it is given.
   *
   * @throws DnsNameError on an empty string, an empty label ("a..b", ".a"),
   * a label over 63 bytes, a name over 255 bytes in wire form, or a bad escape.
   */
  static fromString(text: string): DNSName {
    if (text === '') throw new DnsNameError('"" is not a DNS name: use "." for the root', text);
    if (text === '.') return DNSName.ROOT;
    const src = Buffer.from(text, 'utf8');
    // Each text byte gives at most one wire byte, plus one length byte for the first label and the root byte.
    const out = Buffer.allocUnsafe(src.length + 2);
    let lengthAt = 0;
    let w = 1;
    let labelLength = 0;
    let labelStart = 0;
    const finishLabel = (end: number): void => {
      if (labelLength === 0) {
        throw new DnsNameError(`empty label at character ${end} in name "${shorten(text, 64)}": remove the extra dot`, text);
      }
      if (labelLength > MAX_LABEL_LENGTH) {
        const label = shorten(src.toString('utf8', labelStart, end), 16);
        throw new DnsNameError(
          `label "${label}" is ${labelLength} bytes (max ${MAX_LABEL_LENGTH}) in name "${shorten(text, 64)}": split it or shorten it`,
          text,
        );
      }
      out[lengthAt] = labelLength;
      lengthAt = w++;
      labelLength = 0;
    };
    for (let i = 0; i < src.length; i++) {
      const c = src[i]!;
      if (c === DOT) {
        finishLabel(i);
        labelStart = i + 1;
        continue;
      }
      let byte = c;
      if (c === BACKSLASH) {
        const next = src[i + 1];
        if (next === undefined) {
          throw new DnsNameError(`name "${shorten(text, 64)}" ends in a lone backslash: write "\\\\" for a literal backslash`, text);
        }
        if (isDigit(next)) {
          const d2 = src[i + 2];
          const d3 = src[i + 3];
          if (!isDigit(d2) || !isDigit(d3)) {
            throw new DnsNameError(
              `bad escape at character ${i} in name "${shorten(text, 64)}": \\DDD needs exactly three decimal digits`,
              text,
            );
          }
          byte = (next - DIGIT_0) * 100 + (d2 - DIGIT_0) * 10 + (d3 - DIGIT_0);
          if (byte > 255) {
            throw new DnsNameError(`escape \\${src.toString('latin1', i + 1, i + 4)} in name "${shorten(text, 64)}" is over 255`, text);
          }
          i += 3;
        } else {
          byte = next;
          i += 1;
        }
      }
      out[w++] = byte;
      labelLength++;
    }
    // A trailing dot has already closed the last label.
    if (src[src.length - 1] !== DOT || labelLength > 0) finishLabel(src.length);
    out[lengthAt] = 0;
    const length = lengthAt + 1;
    if (length > MAX_NAME_LENGTH) {
      throw new DnsNameError(
        `name "${shorten(text, 64)}" is ${length} bytes in wire form (max ${MAX_NAME_LENGTH}): it has too many or too long labels`,
        text,
      );
    }
    return new DNSName(Buffer.from(out.subarray(0, length)));
  }

  /**
   * Read an uncompressed name from wire bytes at `offset`. The bytes are
   * copied, so the buffer may be reused afterwards.
   *
   * @throws DnsNameError on a compression pointer (decompress the message
   * first), a reserved label type, a truncated name, or one over 255 bytes.
   */
  static fromWire(buf: Uint8Array, offset = 0): WireNameRead {
    let p = offset;
    for (;;) {
      const len = buf[p];
      if (len === undefined) {
        throw new DnsNameError(`name starting at offset ${offset} runs past the end of the ${buf.length}-byte buffer at ${p}`, buf, p);
      }
      if (len === 0) break;
      if ((len & 0xc0) === 0xc0) {
        throw new DnsNameError(
          `compression pointer at offset ${p}: fromWire reads uncompressed names only; decompress the message first`,
          buf,
          p,
        );
      }
      if (len > MAX_LABEL_LENGTH) {
        throw new DnsNameError(
          `label length byte 0x${len.toString(16)} at offset ${p} is not a plain label (max ${MAX_LABEL_LENGTH})`,
          buf,
          p,
        );
      }
      p += 1 + len;
      // Even with just the root byte to come, the name would be too long.
      if (p - offset + 1 > MAX_NAME_LENGTH) {
        throw new DnsNameError(`name starting at offset ${offset} is longer than ${MAX_NAME_LENGTH} bytes in wire form`, buf, offset);
      }
    }
    const consumed = p + 1 - offset;
    if (consumed === 1) return { name: DNSName.ROOT, consumed };
    return { name: new DNSName(Buffer.from(buf.subarray(offset, p + 1))), consumed };
  }

  /** Presentation form with the trailing dot, as dnsdist prints it: "evil.example.com.", root is ".". */
  toString(): string {
    return this.#text(true);
  }

  /** Presentation form without the trailing dot. As in dnsdist, the root gives "" here. */
  toStringNoDot(): string {
    return this.#text(false);
  }

  /** JSON gives the presentation form, so names log and serialise readably. */
  toJSON(): string {
    return this.toString();
  }

  /** A fresh copy of the wire form, in original case. */
  toWire(): Buffer {
    return Buffer.from(this.#wire);
  }

  /** A fresh copy of the wire form with ASCII A-Z lowered; all other bytes as they are. */
  toWireLowerCase(): Buffer {
    const out = Buffer.allocUnsafe(this.#wire.length);
    for (let i = 0; i < out.length; i++) out[i] = lowerByte(this.#wire[i]!);
    return out;
  }

  /** This name with ASCII A-Z lowered (dnsdist's makeLowerCase). */
  toLowerCase(): DNSName {
    return this.isRoot() ? this : new DNSName(this.toWireLowerCase());
  }

  /** Length in wire form, length bytes and the root byte included; 1 for the root. */
  wirelength(): number {
    return this.#wire.length;
  }

  /** Number of labels, the root not counted: 0 for ".", 3 for "evil.example.com.". */
  countLabels(): number {
    let n = 0;
    for (let p = 0; this.#wire[p] !== 0; p += this.#wire[p]! + 1) n++;
    return n;
  }

  /**
   * The labels, leftmost first, unescaped and in original case, one
   * character per byte (latin1), like dnsdist's getRawLabels. The root
   * has none.
   */
  labels(): string[] {
    const out: string[] = [];
    for (let p = 0; this.#wire[p] !== 0; p += this.#wire[p]! + 1) {
      out.push(this.#wire.toString('latin1', p + 1, p + 1 + this.#wire[p]!));
    }
    return out;
  }

  isRoot(): boolean {
    return this.#wire.length === 1;
  }

  /** Same name, ignoring ASCII case. */
  equals(other: DNSName): boolean {
    const a = this.#wire;
    const b = other.#wire;
    return a.length === b.length && equalFolded(a, 0, b, 0, a.length);
  }

  /** True if this name is `other` or below it, ignoring ASCII case. Every name is part of the root. */
  isPartOf(other: DNSName): boolean {
    const a = this.#wire;
    const b = other.#wire;
    // Only label boundaries count: "xexample.com." is not part of "example.com.".
    for (let p = 0; a.length - p >= b.length; p += a[p]! + 1) {
      if (a.length - p === b.length && equalFolded(a, p, b, 0, b.length)) return true;
      if (a[p] === 0) break;
    }
    return false;
  }

  /**
   * This name without its first label: "www.example.com." gives
   * "example.com.", "com." gives ".". The root has nothing to chop, so it
   * gives `undefined` (dnsdist's chopOff returns false there), which ends
   * a `for (let n = name; n; n = n.chopOff())` walk up to and including the root.
   */
  chopOff(): DNSName | undefined {
    if (this.isRoot()) return undefined;
    const rest = this.#wire.subarray(this.#wire[0]! + 1);
    return rest.length === 1 ? DNSName.ROOT : new DNSName(rest);
  }

  #text(trailingDot: boolean): string {
    if (this.isRoot()) return trailingDot ? '.' : '';
    const w = this.#wire;
    let out = '';
    for (let p = 0; w[p] !== 0; p += w[p]! + 1) {
      if (p > 0) out += '.';
      const end = p + 1 + w[p]!;
      for (let i = p + 1; i < end; i++) {
        const c = w[i]!;
        // Same escaping as dnsdist's appendEscapedLabel, so output parses back to the same name.
        if (c === DOT) out += '\\.';
        else if (c === BACKSLASH) out += '\\\\';
        else if (c > 0x20 && c < 0x7f) out += String.fromCharCode(c);
        else out += `\\${c.toString().padStart(3, '0')}`;
      }
    }
    return trailingDot ? `${out}.` : out;
  }
}
