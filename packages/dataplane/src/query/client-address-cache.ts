import { SocketAddress } from './client-address.js';

/** Slots for (address, port) pairs: 2^13. */
const PEER_BITS = 13;
/** Slots for addresses alone; a power of two. */
const ADDRESS_SLOTS = 4096;

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
 * costs an object each time, never a wrong answer.
 */
export class ClientAddressCache {
  readonly #peers: (SocketAddress | undefined)[] = new Array<SocketAddress | undefined>(1 << PEER_BITS).fill(undefined);
  readonly #addresses: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(ADDRESS_SLOTS).fill(undefined);

  /** The peer `bytes` (4 or 16, read during the call only) and `port`. */
  get(bytes: Uint8Array, port: number): SocketAddress {
    const h = addressHash(bytes);
    const i = Math.imul(h ^ port, 0x85ebca6b) >>> (32 - PEER_BITS);
    const cached = this.#peers[i];
    if (cached !== undefined && cached.port === port && sameBytes(cached.bytes, bytes)) return cached;
    const made = new SocketAddress(this.#address(bytes, h), port);
    this.#peers[i] = made;
    return made;
  }

  /** The shared copy of an address's bytes (SocketAddress bytes are never written). */
  #address(bytes: Uint8Array, h: number): Uint8Array {
    const i = h & (ADDRESS_SLOTS - 1);
    const cached = this.#addresses[i];
    if (cached !== undefined && sameBytes(cached, bytes)) return cached;
    const copy = bytes.slice();
    this.#addresses[i] = copy;
    return copy;
  }
}

/** FNV-1a over the address bytes, finished with a multiply so the low bits index well. */
function addressHash(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
