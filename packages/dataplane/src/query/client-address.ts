import { formatAddress } from '@dnsdist-ts/dns';

/**
 * A client or server socket address as the query path sees it. The text
 * form is computed on first use: most queries never need it.
 */
export class SocketAddress {
  /** 4 bytes for IPv4, 16 for IPv6 (IPv4-mapped IPv6 peers are unmapped to IPv4). */
  readonly bytes: Uint8Array;
  readonly family: 4 | 6;
  readonly port: number;
  #text: string | undefined;

  constructor(bytes: Uint8Array, port: number, text?: string) {
    this.bytes = bytes;
    this.family = bytes.length === 4 ? 4 : 6;
    this.port = port;
    this.#text = text;
  }

  /** Address without port: "192.0.2.1", "2001:db8::1". */
  get address(): string {
    this.#text ??= formatAddress(this.bytes);
    return this.#text;
  }

  /** dnsdist's `toStringWithPort()`: "192.0.2.1:53", "[2001:db8::1]:53". */
  toStringWithPort(): string {
    return this.family === 4 ? `${this.address}:${this.port}` : `[${this.address}]:${this.port}`;
  }

  toString(): string {
    return this.address;
  }

  /** The unspecified address (0.0.0.0 or ::): a listener bound to every local address. */
  isWildcard(): boolean {
    for (const b of this.bytes) if (b !== 0) return false;
    return true;
  }
}

/** Whether two addresses' bytes (4 or 16) are the same address. */
export function sameAddressBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
