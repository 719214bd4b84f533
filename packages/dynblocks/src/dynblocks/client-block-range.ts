import { formatAddress } from '@dnsdist-ts/dns';
import type { ClientRange } from '@dnsdist-ts/dataplane/rings/index.js';
import { DynBlockArgumentError } from './dyn-block-errors.js';

/**
 * Check prefix lengths as dnsdist's DynBlockRulesGroup:setMasks does, with
 * its messages.
 *
 * @throws DynBlockArgumentError for an IPv4 prefix over 32, an IPv6 prefix
 * over 128, a port mask over 16, or a port mask with an IPv4 prefix under 32.
 */
export function checkBlockMasks(v4: number, v6: number, port: number): void {
  if (!Number.isInteger(v4) || v4 < 0 || v4 > 32) {
    throw new DynBlockArgumentError('setMasks.v4', v4, `Trying to set an invalid IPv4 mask (${v4}) to a Dynamic Block object`);
  }
  if (!Number.isInteger(v6) || v6 < 0 || v6 > 128) {
    throw new DynBlockArgumentError('setMasks.v6', v6, `Trying to set an invalid IPv6 mask (${v6}) to a Dynamic Block object`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 16) {
    throw new DynBlockArgumentError('setMasks.port', port, `Trying to set an invalid port mask (${port}) to a Dynamic Block object`);
  }
  if (port > 0 && v4 !== 32) {
    throw new DynBlockArgumentError(
      'setMasks.port',
      port,
      'Setting a non-zero port mask for Dynamic Blocks while only considering parts of IPv4 addresses does not make sense',
    );
  }
}

function maskBytes(bytes: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.min(8, Math.max(0, bits - i * 8));
    out[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/**
 * What a client-address dynamic block covers: dnsdist's
 * AddressAndPortRange. A network (address bits beyond `prefix` cleared)
 * and, for IPv4 with all 32 bits, optionally the leading `portBits` of the
 * source port. The usual block is one address: /32 or /128, ports ignored.
 */
export class ClientBlockRange {
  readonly family: 4 | 6;
  /** Network address, 4 or 16 bytes, bits beyond `prefix` cleared. */
  readonly network: Uint8Array;
  readonly prefix: number;
  /** Source port with the bits beyond `portBits` cleared; 0 when ports are ignored. */
  readonly port: number;
  /** Leading source-port bits that count (IPv4 /32 only), 0 to 16. */
  readonly portBits: number;

  private constructor(network: Uint8Array, prefix: number, port: number, portBits: number) {
    this.family = network.length === 4 ? 4 : 6;
    this.network = network;
    this.prefix = prefix;
    this.port = port;
    this.portBits = portBits;
  }

  /**
   * The range of `address` (4 or 16 bytes) under the given prefix lengths.
   * The port counts only for IPv4 with `v4Bits` = 32 and `portBits` > 0.
   *
   * @throws DynBlockArgumentError on invalid masks (see {@link checkBlockMasks}).
   */
  static of(address: Uint8Array, port: number, v4Bits = 32, v6Bits = 128, portBits = 0): ClientBlockRange {
    checkBlockMasks(v4Bits, v6Bits, portBits);
    if (address.length === 4) {
      const portMask = portBits === 0 ? 0 : (0xffff << (16 - portBits)) & 0xffff;
      return new ClientBlockRange(maskBytes(address, v4Bits), v4Bits, port & portMask, portBits);
    }
    return new ClientBlockRange(maskBytes(address, v6Bits), v6Bits, 0, 0);
  }

  /** The range a ring walk grouped clients into. */
  static fromClientRange(range: ClientRange): ClientBlockRange {
    return new ClientBlockRange(range.network.slice(), range.prefix, range.port, range.portBits);
  }

  /** One address, all bits significant, ports ignored: what dnsdist's BPF filter can hold. */
  get isSingleAddress(): boolean {
    return this.prefix === this.network.length * 8 && this.portBits === 0;
  }

  /** Number of significant bits, address and port: the longest match wins a lookup. */
  get specificity(): number {
    return this.prefix + this.portBits;
  }

  /** dnsdist's text: "192.0.2.1/32", "192.0.2.0/24", "2001:db8::/64", "192.0.2.1:32768/2" with port bits. */
  toString(): string {
    const address = formatAddress(this.network);
    if (this.portBits === 0) return `${address}/${this.prefix}`;
    return `${address}:${this.port}/${this.portBits}`;
  }
}
