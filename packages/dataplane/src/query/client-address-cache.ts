import { SocketAddress } from './client-address.js';

/** Entries kept before the cache starts over (a spoofed flood must not grow it without bound). */
const MAX_ENTRIES = 65536;

/**
 * Clients send many queries from the same address and port; their
 * SocketAddress (bytes, port, lazily formatted text) is made once and
 * shared. IPv4 peers are keyed by a number (address × 65536 + port); IPv6
 * peers, rarer, get a fresh object each time.
 */
export class ClientAddressCache {
  readonly #v4 = new Map<number, SocketAddress>();

  get(bytes: Uint8Array, port: number): SocketAddress {
    if (bytes.length !== 4) return new SocketAddress(bytes.slice(), port);
    const key = (((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0) * 65536 + port;
    let a = this.#v4.get(key);
    if (a === undefined) {
      if (this.#v4.size >= MAX_ENTRIES) this.#v4.clear();
      a = new SocketAddress(bytes.slice(), port);
      this.#v4.set(key, a);
    }
    return a;
  }
}
