import { formatAddress } from '@dnsdist-ts/dns';
import type { SocketAddress } from '../query/client-address.js';
import { RingArgumentError, requireIntegerInRange } from './ring-argument-error.js';

/**
 * How clients are grouped when counting: dnsdist's `setMasks(v4, v6,
 * port)`. Clients whose addresses agree on the first `v4` (or `v6`) bits,
 * and for IPv4 on the first `port` bits of the source port, count as one.
 */
export interface ClientMasks {
  /** IPv4 prefix length, 0 to 32. */
  readonly v4: number;
  /** IPv6 prefix length, 0 to 128. */
  readonly v6: number;
  /** Leading source-port bits kept for IPv4, 0 to 16; above 0 only with v4 = 32. */
  readonly port: number;
}

/** One client per address, ports ignored: dnsdist's default masks (32, 128, 0). */
export const EXACT_CLIENT_MASKS: ClientMasks = Object.freeze({ v4: 32, v6: 128, port: 0 });

/**
 * Check masks as dnsdist's setMasks does.
 *
 * @throws RingArgumentError on an out-of-range length, or a port mask with a v4 prefix under 32.
 */
export function validateClientMasks(masks: ClientMasks): void {
  requireIntegerInRange(masks.v4, 0, 32, 'the IPv4 mask');
  requireIntegerInRange(masks.v6, 0, 128, 'the IPv6 mask');
  requireIntegerInRange(masks.port, 0, 16, 'the port mask');
  if (masks.port > 0 && masks.v4 !== 32) {
    throw new RingArgumentError(
      `a port mask (${masks.port}) needs the full IPv4 address: set the IPv4 mask to 32, or the port mask to 0`,
      masks,
    );
  }
}

/** Map key for a client range: a number for IPv4 (address and port bits), a string for IPv6. */
export type ClientKey = number | string;

/**
 * A group of clients that counted as one (dnsdist's AddressAndPortRange),
 * with one running total per counter of the walk that produced it.
 */
export class ClientRange {
  readonly family: 4 | 6;
  /** The network address, bits beyond the prefix cleared. */
  readonly network: Uint8Array;
  /** Prefix length of `network`. */
  readonly prefix: number;
  /** Source port with bits beyond `portBits` cleared; 0 when ports are ignored. */
  readonly port: number;
  /** Leading port bits that are significant (IPv4 only). */
  readonly portBits: number;
  /** The first client seen in this range. */
  readonly sample: SocketAddress;
  /** One total per counter, in the order the counters were given. */
  readonly counts: Float64Array;

  constructor(sample: SocketAddress, network: Uint8Array, prefix: number, port: number, portBits: number, counters: number) {
    this.family = sample.family;
    this.sample = sample;
    this.network = network;
    this.prefix = prefix;
    this.port = port;
    this.portBits = portBits;
    this.counts = new Float64Array(counters);
  }

  /** True when the range is one address (all bits significant) and the port does not matter. */
  get isSingleAddress(): boolean {
    return this.prefix === this.network.length * 8 && this.portBits === 0;
  }

  /** The network address as text, no prefix: "192.0.2.0". */
  addressText(): string {
    return this.prefix === this.network.length * 8 ? this.sample.address : formatAddress(this.network);
  }

  /**
   * dnsdist's AddressAndPortRange text: "192.0.2.0/24", "2001:db8::/64",
   * "192.0.2.1/32" when ports are ignored, "192.0.2.1:1024/6" with a port range.
   */
  toString(): string {
    if (this.prefix < this.network.length * 8 || this.portBits === 0) return `${this.addressText()}/${this.prefix}`;
    return `${this.addressText()}:${this.port}/${this.portBits}`;
  }
}

/**
 * Turns clients into range keys under fixed masks. Allocation-free for
 * IPv4; an IPv6 key is an 8-character string.
 */
export class ClientKeyer {
  readonly masks: ClientMasks;
  readonly #v4Mask: number;
  readonly #portMask: number;
  readonly #v6Mask: Uint8Array;

  /** @throws RingArgumentError on invalid masks (see {@link validateClientMasks}). */
  constructor(masks: ClientMasks) {
    validateClientMasks(masks);
    this.masks = masks;
    this.#v4Mask = masks.v4 === 0 ? 0 : (0xffffffff << (32 - masks.v4)) >>> 0;
    this.#portMask = masks.port === 0 ? 0 : (0xffff << (16 - masks.port)) & 0xffff;
    this.#v6Mask = new Uint8Array(16);
    for (let i = 0; i < 16; i++) {
      const bits = Math.min(8, Math.max(0, masks.v6 - i * 8));
      this.#v6Mask[i] = (0xff << (8 - bits)) & 0xff;
    }
  }

  /** The key of the range `client` falls in: equal keys mean the same range. */
  key(client: SocketAddress): ClientKey {
    const b = client.bytes;
    if (b.length === 4) {
      const address = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) & this.#v4Mask;
      // Below 2^48, so the sum is exact: 32 address bits then 16 port bits.
      return (address >>> 0) * 65536 + (client.port & this.#portMask);
    }
    const m = this.#v6Mask;
    return String.fromCharCode(
      ((b[0]! & m[0]!) << 8) | (b[1]! & m[1]!),
      ((b[2]! & m[2]!) << 8) | (b[3]! & m[3]!),
      ((b[4]! & m[4]!) << 8) | (b[5]! & m[5]!),
      ((b[6]! & m[6]!) << 8) | (b[7]! & m[7]!),
      ((b[8]! & m[8]!) << 8) | (b[9]! & m[9]!),
      ((b[10]! & m[10]!) << 8) | (b[11]! & m[11]!),
      ((b[12]! & m[12]!) << 8) | (b[13]! & m[13]!),
      ((b[14]! & m[14]!) << 8) | (b[15]! & m[15]!),
    );
  }

  /** A new, zeroed range for `client`, with room for `counters` totals. */
  range(client: SocketAddress, counters: number): ClientRange {
    const b = client.bytes;
    const network = new Uint8Array(b.length);
    if (b.length === 4) {
      const mask = this.#v4Mask;
      network[0] = b[0]! & (mask >>> 24);
      network[1] = b[1]! & ((mask >>> 16) & 0xff);
      network[2] = b[2]! & ((mask >>> 8) & 0xff);
      network[3] = b[3]! & (mask & 0xff);
      return new ClientRange(client, network, this.masks.v4, client.port & this.#portMask, this.masks.port, counters);
    }
    for (let i = 0; i < 16; i++) network[i] = b[i]! & this.#v6Mask[i]!;
    return new ClientRange(client, network, this.masks.v6, 0, 0, counters);
  }
}

/**
 * dnsdist's `ComboAddress::addressOnlyLessThan` as a comparator: IPv4
 * before IPv6; IPv4 by `sin_addr.s_addr` read as a little-endian integer
 * (so the last octet weighs most, as on dnsdist's x86-64 builds); IPv6
 * byte by byte. Ports are ignored. dnsdist's top lists start from this
 * order, which shows in how ties come out.
 */
export function compareAddressOnly(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  if (a.length === 4) {
    const x = ((a[3]! << 24) | (a[2]! << 16) | (a[1]! << 8) | a[0]!) >>> 0;
    const y = ((b[3]! << 24) | (b[2]! << 16) | (b[1]! << 8) | b[0]!) >>> 0;
    return x - y;
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return 0;
}
