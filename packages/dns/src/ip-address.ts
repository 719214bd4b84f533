/**
 * IP addresses as text and as network-order bytes: strict hand-written
 * parsers for IPv4 and IPv6, RFC 5952 formatting, and "address:port"
 * parsing as dnsdist's ComboAddress accepts it.
 */
import { AddressParseError } from './errors.js';

export type AddressFamily = 4 | 6;

/** An address in network byte order: 4 bytes for IPv4, 16 for IPv6. */
export interface IpAddress {
  family: AddressFamily;
  bytes: Uint8Array;
}

export interface IpAddressWithPort extends IpAddress {
  port: number;
}

const DIGIT_0 = 0x30;

function decimalDigit(c: number): number {
  return c >= 0x30 && c <= 0x39 ? c - DIGIT_0 : -1;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * Parse dotted-quad IPv4 into `out` at `at`; returns an error reason or
 * undefined. Shared by the IPv4 parser and IPv6's embedded-IPv4 tail.
 */
function readIPv4(text: string, out: Uint8Array, at: number): string | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return `it has ${parts.length} dot-separated parts, IPv4 needs exactly 4`;
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (part.length === 0 || part.length > 3) return `part ${i + 1} "${part}" is not a number from 0 to 255`;
    // A leading zero reads as octal to inet_aton, so refuse it rather than guess.
    if (part.length > 1 && part.charCodeAt(0) === DIGIT_0) return `part ${i + 1} "${part}" has a leading zero`;
    let value = 0;
    for (let j = 0; j < part.length; j++) {
      const d = decimalDigit(part.charCodeAt(j));
      if (d < 0) return `part ${i + 1} "${part}" is not a decimal number`;
      value = value * 10 + d;
    }
    if (value > 255) return `part ${i + 1} "${part}" is over 255`;
    out[at + i] = value;
  }
  return undefined;
}

/**
 * Parse dotted-quad IPv4 ("192.0.2.1") into 4 bytes. Only the strict
 * four-part decimal form: no leading zeros, no shorthand like "10.1".
 *
 * @throws AddressParseError saying which part is wrong.
 */
export function parseIPv4(text: string): Uint8Array {
  const out = new Uint8Array(4);
  const why = readIPv4(text, out, 0);
  if (why !== undefined) throw new AddressParseError(`"${text}" is not an IPv4 address: ${why}`, text);
  return out;
}

/** Parse colon-separated hex groups into 16-bit words; the last group may be dotted IPv4 if `allowV4` is set. */
function readGroups(text: string, whole: string, allowV4: boolean): number[] {
  if (text === '') return [];
  const groups = text.split(':');
  const words: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (allowV4 && i === groups.length - 1 && g.includes('.')) {
      const v4 = new Uint8Array(4);
      const why = readIPv4(g, v4, 0);
      if (why !== undefined)
        throw new AddressParseError(`"${whole}" is not an IPv6 address: its IPv4 tail "${g}" is invalid, ${why}`, whole);
      words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      continue;
    }
    if (g.length === 0)
      throw new AddressParseError(`"${whole}" is not an IPv6 address: it has an empty group (only one "::" is allowed)`, whole);
    let value = 0;
    for (let j = 0; j < g.length; j++) {
      const d = hexDigit(g.charCodeAt(j));
      if (d < 0) throw new AddressParseError(`"${whole}" is not an IPv6 address: group "${g}" is not hexadecimal`, whole);
      value = (value << 4) | d;
    }
    if (g.length > 4) throw new AddressParseError(`"${whole}" is not an IPv6 address: group "${g}" has more than 4 hex digits`, whole);
    words.push(value);
  }
  return words;
}

/**
 * Parse IPv6 text into 16 bytes: full, "::"-compressed, any case, with an
 * optional dotted-IPv4 tail ("::ffff:192.0.2.1", "64:ff9b::192.0.2.1").
 * Zone ids ("fe80::1%eth0") are not accepted.
 *
 * @throws AddressParseError saying what is wrong.
 */
export function parseIPv6(text: string): Uint8Array {
  if (text.includes('%')) {
    throw new AddressParseError(`"${text}" is not an IPv6 address: zone ids ("%eth0") are not supported, remove it`, text);
  }
  const first = text.indexOf('::');
  if (first >= 0 && text.indexOf('::', first + 1) >= 0) {
    throw new AddressParseError(`"${text}" is not an IPv6 address: "::" may appear only once`, text);
  }
  let words: number[];
  if (first < 0) {
    words = readGroups(text, text, true);
    if (words.length !== 8) {
      throw new AddressParseError(
        `"${text}" is not an IPv6 address: it has ${words.length} groups, needs 8 (or "::" for a run of zeros)`,
        text,
      );
    }
  } else {
    const head = readGroups(text.slice(0, first), text, false);
    const tail = readGroups(text.slice(first + 2), text, true);
    const zeros = 8 - head.length - tail.length;
    if (zeros < 1) throw new AddressParseError(`"${text}" is not an IPv6 address: too many groups around "::" (max 7)`, text);
    words = [...head, ...new Array<number>(zeros).fill(0), ...tail];
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  return out;
}

/** Parse an IPv4 or IPv6 address; a colon means IPv6. */
export function parseAddress(text: string): IpAddress {
  if (text.includes(':')) return { family: 6, bytes: parseIPv6(text) };
  return { family: 4, bytes: parseIPv4(text) };
}

/** Dotted-quad text of 4 bytes. */
export function formatIPv4(bytes: Uint8Array): string {
  if (bytes.length !== 4) throw new AddressParseError(`an IPv4 address is 4 bytes, got ${bytes.length}`, bytes);
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/**
 * RFC 5952 text of 16 bytes: lower-case hex without leading zeros, the
 * longest run of two or more zero groups (the first on a tie) as "::",
 * and IPv4-mapped addresses as "::ffff:192.0.2.1" (RFC 5952 section 5).
 */
export function formatIPv6(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new AddressParseError(`an IPv6 address is 16 bytes, got ${bytes.length}`, bytes);
  let mapped = bytes[10] === 0xff && bytes[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = bytes[i] === 0;
  if (mapped) return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;

  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    const zero = i < 8 && bytes[i * 2] === 0 && bytes[i * 2 + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      if (i - runStart > bestLength) {
        bestStart = runStart;
        bestLength = i - runStart;
      }
      runStart = -1;
    }
  }
  const hex = (i: number): string => ((bytes[i * 2]! << 8) | bytes[i * 2 + 1]!).toString(16);
  if (bestStart < 0) {
    const all: string[] = [];
    for (let i = 0; i < 8; i++) all.push(hex(i));
    return all.join(':');
  }
  const head: string[] = [];
  const tail: string[] = [];
  for (let i = 0; i < bestStart; i++) head.push(hex(i));
  for (let i = bestStart + bestLength; i < 8; i++) tail.push(hex(i));
  return `${head.join(':')}::${tail.join(':')}`;
}

/** Text of a 4- or 16-byte address. */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIPv4(bytes);
  if (bytes.length === 16) return formatIPv6(bytes);
  throw new AddressParseError(`an address is 4 (IPv4) or 16 (IPv6) bytes, got ${bytes.length}`, bytes);
}

function parsePort(text: string, whole: string): number {
  if (text.length === 0 || text.length > 5) throw new AddressParseError(`"${whole}" has an invalid port "${text}": use 0 to 65535`, whole);
  let port = 0;
  for (let i = 0; i < text.length; i++) {
    const d = decimalDigit(text.charCodeAt(i));
    if (d < 0) throw new AddressParseError(`"${whole}" has an invalid port "${text}": use 0 to 65535`, whole);
    port = port * 10 + d;
  }
  if (port > 65535) throw new AddressParseError(`"${whole}" has an invalid port "${text}": use 0 to 65535`, whole);
  return port;
}

/**
 * Parse an address with an optional port, as dnsdist's ComboAddress does:
 * "192.0.2.1:53", "192.0.2.1", "[2001:db8::1]:53", "[2001:db8::1]" and
 * "2001:db8::1". IPv6 with a port needs the brackets: without them every
 * colon belongs to the address, so "2001:db8::1:53" is an address ending
 * in ":53", on `defaultPort`.
 *
 * @throws AddressParseError on a malformed address or a port outside 0..65535.
 */
export function parseAddressWithPort(text: string, defaultPort: number): IpAddressWithPort {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new AddressParseError(`"${text}" has "[" without a closing "]"`, text);
    const bytes = parseIPv6(text.slice(1, close));
    const rest = text.slice(close + 1);
    if (rest === '') return { family: 6, bytes, port: defaultPort };
    if (!rest.startsWith(':')) throw new AddressParseError(`"${text}" has "${rest}" after "]": expected ":port"`, text);
    return { family: 6, bytes, port: parsePort(rest.slice(1), text) };
  }
  const colon = text.indexOf(':');
  if (colon < 0) return { family: 4, bytes: parseIPv4(text), port: defaultPort };
  if (text.indexOf(':', colon + 1) >= 0) return { family: 6, bytes: parseIPv6(text), port: defaultPort };
  return { family: 4, bytes: parseIPv4(text.slice(0, colon)), port: parsePort(text.slice(colon + 1), text) };
}

/** "192.0.2.1:53" or "[2001:db8::1]:53", which `parseAddressWithPort` reads back. */
export function formatAddressWithPort(address: IpAddressWithPort): string {
  const text = formatAddress(address.bytes);
  return address.bytes.length === 16 ? `[${text}]:${address.port}` : `${text}:${address.port}`;
}
