import type { BPFFilter } from '@dnsdist-ts/bpf-filter';

/** What a bind needs from its owner to change its socket filter. */
export interface BindFilterControl {
  attachFilter(index: number, filter: BPFFilter): void;
  detachFilter(index: number): void;
}

/**
 * One listening socket as `getBind(n)` returns it: binds are numbered as
 * `showBinds()` lists them, each listener's UDP socket then its TCP one.
 * Attaching before start-up takes effect when the socket opens.
 */
export class FrontendBind {
  constructor(
    readonly index: number,
    readonly protocol: 'UDP' | 'TCP',
    /** "127.0.0.1:53", "[::1]:53": what dnsdist's toString() gives. */
    readonly address: string,
    private readonly owner: BindFilterControl,
    /** The TLS provider a DoT bind asked for ("openssl", "gnutls"); "" for plain binds. */
    readonly tlsProvider = '',
  ) {}

  /** getEffectiveTLSProvider(): what the TLS bind runs; OpenSSL underneath whatever name it was given. */
  getEffectiveTLSProvider(): string {
    return this.tlsProvider;
  }

  /** SO_ATTACH_BPF with the filter's socket filter (internal-format filters only). */
  attachFilter(filter: BPFFilter): void {
    this.owner.attachFilter(this.index, filter);
  }

  /** SO_DETACH_BPF; also keeps the default filter off this socket. */
  detachFilter(): void {
    this.owner.detachFilter(this.index);
  }

  toString(): string {
    return this.address;
  }
}
