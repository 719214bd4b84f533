/**
 * Netmask: an address range as dnsdist's Netmask holds it, a network
 * address with its host bits cleared and a prefix length.
 */
import ipNum from 'ip-num';
import { AddressParseError } from './errors.js';
import { formatAddress, parseAddress, type AddressFamily } from './ip-address.js';

const { IPv4Prefix, IPv6Prefix } = ipNum;

/** The address before the "/", its error naming the whole mask text as given (what the user wrote). */
function addressOf(text: string, slash: number): ReturnType<typeof parseAddress> {
  try {
    return parseAddress(text.slice(0, slash));
  } catch (e) {
    if (!(e instanceof AddressParseError)) throw e;
    throw new AddressParseError(`"${text}" is not a netmask: ${e.message}`, text);
  }
}

export class Netmask {
  readonly family: AddressFamily;
  /** Prefix length: 0..32 for IPv4, 0..128 for IPv6. */
  readonly bits: number;
  readonly #network: Uint8Array;
  /** Bytes compared whole by `match`, then one byte under `#lastMask`. */
  readonly #fullBytes: number;
  readonly #lastMask: number;

  /**
   * A netmask from network-order address bytes (4 or 16) and a prefix
   * length. Host bits are cleared, so 10.1.2.3 with 8 bits is 10.0.0.0/8.
   *
   * @throws AddressParseError on a wrong byte count or a prefix too long for the family.
   */
  constructor(address: Uint8Array, bits: number) {
    if (address.length !== 4 && address.length !== 16) {
      throw new AddressParseError(`a netmask needs a 4-byte (IPv4) or 16-byte (IPv6) address, got ${address.length} bytes`, address);
    }
    const max = address.length * 8;
    if (!Number.isInteger(bits) || bits < 0 || bits > max) {
      throw new AddressParseError(`prefix length ${bits} does not fit ${formatAddress(address)}: use 0 to ${max}`, address);
    }
    this.family = address.length === 4 ? 4 : 6;
    this.bits = bits;
    this.#fullBytes = bits >> 3;
    this.#lastMask = (0xff << (8 - (bits & 7))) & 0xff;
    const network = new Uint8Array(address.length);
    network.set(address.subarray(0, this.#fullBytes));
    if (this.#fullBytes < network.length) network[this.#fullBytes] = address[this.#fullBytes]! & this.#lastMask;
    this.#network = network;
  }

  /**
   * Parse "192.0.2.0/24", "2001:db8::/32", or a bare address, which is a
   * single host (/32 or /128). Host bits set in the text are cleared, as
   * dnsdist does ("192.0.2.1/24" is 192.0.2.0/24). The address goes through
   * ip-num (`parseAddress`), the prefix length through ip-num's prefix
   * check; the prefix must be 1 to 3 plain decimal digits, so dnsdist's
   * laxer "/+8" and its clamping of "/33" to /32 are refused here rather
   * than guessed at.
   *
   * @throws AddressParseError naming the text, on a malformed address or prefix length.
   */
  static fromString(text: string): Netmask {
    const slash = text.indexOf('/');
    if (slash < 0) return new Netmask(parseAddress(text).bytes, text.includes(':') ? 128 : 32);
    const { family, bytes } = addressOf(text, slash);
    const prefix = text.slice(slash + 1);
    const max = family === 4 ? 32 : 128;
    const invalid = (): AddressParseError =>
      new AddressParseError(`"${text}" has an invalid prefix length "${prefix}": use 0 to ${max} for IPv${family}`, text);
    if (!/^[0-9]{1,3}$/.test(prefix)) throw invalid();
    let bits: number;
    try {
      bits = Number((family === 4 ? IPv4Prefix : IPv6Prefix).fromNumber(BigInt(prefix)).getValue());
    } catch {
      throw invalid();
    }
    return new Netmask(bytes, bits);
  }

  /**
   * Whether a network-order address (4 or 16 bytes) is in this range. An
   * address of the other family never matches; IPv4-mapped IPv6 is not
   * IPv4 here, as in dnsdist. Allocation-free, for per-packet use.
   */
  match(address: Uint8Array): boolean {
    const network = this.#network;
    if (address.length !== network.length) return false;
    const full = this.#fullBytes;
    for (let i = 0; i < full; i++) {
      if (address[i] !== network[i]) return false;
    }
    return full === network.length || (address[full]! & this.#lastMask) === network[full];
  }

  /** Whether `other` lies entirely inside this range (same family, at least as long a prefix). */
  contains(other: Netmask): boolean {
    return other.family === this.family && other.bits >= this.bits && this.match(other.#network);
  }

  equals(other: Netmask): boolean {
    return other.bits === this.bits && other.family === this.family && this.match(other.#network);
  }

  /** A copy of the network address, host bits cleared. */
  network(): Uint8Array {
    return Uint8Array.from(this.#network);
  }

  /** "10.0.0.0/8", "2001:db8::/32": always with the prefix length, host bits cleared. */
  toString(): string {
    return `${formatAddress(this.#network)}/${this.bits}`;
  }

  toJSON(): string {
    return this.toString();
  }
}
