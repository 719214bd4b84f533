/**
 * IP addresses as text and as network-order bytes: parsing through ip-num
 * (at configuration and API time only), RFC 5952 formatting, and
 * "address:port" parsing as dnsdist's ComboAddress accepts it.
 *
 * ip-num decides what is a valid address and gives its value; this file
 * only turns that value into the bytes the per-query path compares, and
 * turns ip-num's errors into AddressParseError naming the input. Where
 * ip-num and dnsdist differ, dnsdist wins, checked before ip-num sees the
 * text (see `parseIPv6`).
 */
import ipNum from 'ip-num';
import { AddressParseError } from './errors.js';

// ip-num is CommonJS: take its classes from the default export so Node's
// ESM loader does not have to guess its named exports.
const { IPv4, IPv6 } = ipNum;

export type AddressFamily = 4 | 6;

/** An address in network byte order: 4 bytes for IPv4, 16 for IPv6. */
export interface IpAddress {
  family: AddressFamily;
  bytes: Uint8Array;
}

export interface IpAddressWithPort extends IpAddress {
  port: number;
}

function decimalDigit(c: number): number {
  return c >= 0x30 && c <= 0x39 ? c - 0x30 : -1;
}

/** ip-num's reason, without the "Error: " some of its messages start with. */
function reasonOf(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/^Error: /, '');
}

/** The low `length` bytes of `value`, most significant first (network order). */
function bigIntBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Parse dotted-quad IPv4 ("192.0.2.1") into 4 bytes. Only the strict
 * four-part decimal form: no leading zeros (inet_aton would read "010" as
 * octal; ip-num refuses them too, as dnsdist's Netmask does), no shorthand
 * like "10.1", no surrounding whitespace.
 *
 * @throws AddressParseError naming the text and saying what to write instead.
 */
export function parseIPv4(text: string): Uint8Array {
  let value: bigint;
  try {
    value = IPv4.fromString(text).getValue();
  } catch (e) {
    throw new AddressParseError(
      `"${text}" is not an IPv4 address (${reasonOf(e)}): write four decimal numbers from 0 to 255 separated by dots, without leading zeros, as in 192.0.2.1`,
      text,
    );
  }
  return bigIntBytes(value, 4);
}

/**
 * Parse IPv6 text into 16 bytes: full, "::"-compressed, any case, with an
 * optional dotted-IPv4 tail ("::ffff:192.0.2.1", "64:ff9b::192.0.2.1").
 * Zone ids ("fe80::1%eth0") are refused here although ip-num reads them:
 * the bytes compared per query have no room for one, so accepting it would
 * silently drop part of what was configured.
 *
 * @throws AddressParseError naming the text and saying what to write instead.
 */
export function parseIPv6(text: string): Uint8Array {
  if (text.includes('%')) {
    throw new AddressParseError(`"${text}" is not an IPv6 address: zone ids ("%eth0") are not supported, remove it`, text);
  }
  let value: bigint;
  try {
    value = IPv6.fromString(text).getValue();
  } catch (e) {
    throw new AddressParseError(
      `"${text}" is not an IPv6 address (${reasonOf(e)}): write eight groups of 1 to 4 hex digits separated by ":", with at most one "::" for a run of zero groups and optionally a dotted IPv4 tail, as in 2001:db8::1 or ::ffff:192.0.2.1`,
      text,
    );
  }
  return bigIntBytes(value, 16);
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
