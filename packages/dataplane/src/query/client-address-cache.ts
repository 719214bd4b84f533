import { SocketAddress, sameAddressBytes } from './client-address.js';

/** Slots for (address, port) pairs: 2^13. */
const PEER_BITS = 13;
/** Slots for addresses alone: 2^12. */
const ADDRESS_BITS = 12;
/** A slot's key when it holds nothing, or an IPv6 peer (compared by its bytes). */
const NO_KEY = -1;

/**
 * Clients send many queries from the same address and port; their
 * SocketAddress (bytes, port, lazily formatted text) is made once and
 * shared by every query from that peer.
 *
 * Two fixed direct-mapped tables, so that a flood cannot make the cache
 * itself cost more per datagram: a peer not in the table (random source
 * ports from a few addresses: the usual flood) costs one small object,
 * its address bytes shared with the other ports of that address; a new
 * address costs one copy of its bytes. Nothing grows, is rehashed or
 * cleared, whatever the senders. Two peers on one slot take turns, which
 * costs an object each time, never a wrong answer. An IPv4 slot is
 * checked against a number (address × 65536 + port) in a typed array, so
 * a miss does not touch the object it replaces.
 */
export class ClientAddressCache {
  readonly #peerKeys = new Float64Array(1 << PEER_BITS).fill(NO_KEY);
  readonly #peers: (SocketAddress | undefined)[] = new Array<SocketAddress | undefined>(1 << PEER_BITS).fill(undefined);
  readonly #addressKeys = new Float64Array(1 << ADDRESS_BITS).fill(NO_KEY);
  readonly #addresses: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(1 << ADDRESS_BITS).fill(undefined);

  /** The peer `bytes` (4 or 16, read during the call only) and `port`. */
  get(bytes: Uint8Array, port: number): SocketAddress {
    if (bytes.length === 4) {
      const address = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
      const key = address * 65536 + port;
      const i = Math.imul(address ^ Math.imul(port, 0x9e3779b1), 0x85ebca6b) >>> (32 - PEER_BITS);
      if (this.#peerKeys[i] === key) return this.#peers[i]!;
      const made = new SocketAddress(this.#address4(address, bytes), port);
      this.#peerKeys[i] = key;
      this.#peers[i] = made;
      return made;
    }
    const h = addressHash(bytes);
    const i = Math.imul(h ^ port, 0x85ebca6b) >>> (32 - PEER_BITS);
    const cached = this.#peers[i];
    if (this.#peerKeys[i] === NO_KEY && cached !== undefined && cached.port === port && sameAddressBytes(cached.bytes, bytes))
      return cached;
    const made = new SocketAddress(this.#address6(bytes, h), port);
    this.#peerKeys[i] = NO_KEY;
    this.#peers[i] = made;
    return made;
  }

  /** The shared copy of an IPv4 address's bytes (SocketAddress bytes are never written). */
  #address4(address: number, bytes: Uint8Array): Uint8Array {
    const i = Math.imul(address, 0x9e3779b1) >>> (32 - ADDRESS_BITS);
    if (this.#addressKeys[i] === address) return this.#addresses[i]!;
    const copy = bytes.slice();
    this.#addressKeys[i] = address;
    this.#addresses[i] = copy;
    return copy;
  }

  #address6(bytes: Uint8Array, h: number): Uint8Array {
    const i = h >>> (32 - ADDRESS_BITS);
    const cached = this.#addresses[i];
    if (this.#addressKeys[i] === NO_KEY && cached !== undefined && sameAddressBytes(cached, bytes)) return cached;
    const copy = bytes.slice();
    this.#addressKeys[i] = NO_KEY;
    this.#addresses[i] = copy;
    return copy;
  }
}

/** FNV-1a over the address bytes, finished with a multiply so the high bits index well. */
function addressHash(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
}
