/**
 * A UDP socket as the proxy's hot path uses it, whatever moves the bytes:
 * Node's `dgram` (the fallback that always works) or the native batching
 * addon (recvmmsg/sendmmsg). The shapes avoid per-datagram allocation:
 * addresses travel as raw bytes plus a port, and received data is lent to
 * the handler only for the duration of the call.
 */

/**
 * Called once per received datagram. `data[0..length)` and `from` are only
 * valid during the call (they may be views into a shared batch buffer):
 * copy whatever must outlive it. `from` is 4 bytes for IPv4 peers
 * (IPv4-mapped IPv6 peers are unmapped) and 16 for IPv6. `to`, on an
 * endpoint bound to a wildcard address that can tell (the native one), is
 * the local address the datagram was sent to (same forms, same lifetime);
 * undefined otherwise.
 */
export type UdpDatagramHandler = (data: Buffer, length: number, from: Uint8Array, fromPort: number, to?: Uint8Array) => void;

export interface UdpEndpointOptions {
  /** Local address to bind, e.g. "127.0.0.1" or "::". */
  address: string;
  /** Local port; 0 picks a free one. */
  port: number;
  /** SO_REUSEPORT, so several endpoints (or processes) can share the port. */
  reusePort?: boolean;
  /** SO_RCVBUF / SO_SNDBUF in bytes; 0 or absent keeps the system default. */
  receiveBufferSize?: number;
  sendBufferSize?: number;
  /**
   * Connect to this peer (as dnsdist does with its backend sockets): the
   * kernel keeps the route instead of looking it up per datagram and drops
   * datagrams from any other source before they reach the handler. Sends
   * then go to the peer whatever address they name.
   */
  connect?: { address: string; port: number };
}

export interface UdpEndpoint {
  /** The bound address and port (after binding port 0, the real port). */
  readonly localAddress: string;
  readonly localPort: number;
  /** Which implementation moves the bytes, for logs and `showBinds()`-style output. */
  readonly kind: 'dgram' | 'native';
  /** Install the receive handler (one per endpoint). */
  onDatagram(handler: UdpDatagramHandler): void;
  /**
   * Send `data[0..length)` to `to`:`toPort`. The bytes are copied or sent
   * before the call returns, so the caller may reuse `data` at once.
   * Implementations may defer the actual syscall until `flush()` or the end
   * of the current receive batch. Send errors are counted, never thrown.
   * `from` (4 or 16 bytes), on an endpoint that reports `to` on receive, is
   * the source address to send from (the address the query came to);
   * otherwise ignored and the kernel picks.
   */
  send(data: Uint8Array, length: number, to: Uint8Array, toPort: number, from?: Uint8Array): void;
  /** Push out anything queued by `send`. */
  flush(): void;
  /** Datagrams that could not be sent (EAGAIN, ENOBUFS, unreachable…). */
  readonly sendErrors: number;
  /** Stop receiving and release the socket. */
  close(): Promise<void>;
}
