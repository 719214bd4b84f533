import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { peerAddressBytes, formatAddress } from '@dnsdist-ts/dns';
import type { UdpDatagramHandler, UdpEndpoint, UdpEndpointOptions } from './udp-endpoint.js';

const MAPPED_PREFIX = '::ffff:';

/**
 * The portable UdpEndpoint on Node's `dgram`: one syscall per datagram, no
 * SO_REUSEPORT (Node 20 lacks it; the option is refused rather than
 * ignored). Used where the native addon is not built.
 */
class DgramUdpEndpoint implements UdpEndpoint {
  readonly kind = 'dgram' as const;
  readonly #socket: dgram.Socket;
  readonly localAddress: string;
  readonly localPort: number;
  sendErrors = 0;
  /** Last peer text → bytes: a client sending many queries parses once. */
  #lastPeerText = '';
  #lastPeerBytes: Uint8Array = new Uint8Array(4);

  /** Connected sockets take no address per send (dgram refuses one). */
  readonly #connected: boolean;

  constructor(socket: dgram.Socket, connected: boolean) {
    this.#socket = socket;
    this.#connected = connected;
    const a = socket.address();
    this.localAddress = a.address;
    this.localPort = a.port;
    socket.on('error', () => {
      this.sendErrors++;
    });
  }

  #peerBytes(text: string): Uint8Array {
    if (text !== this.#lastPeerText) {
      const unmapped = text.startsWith(MAPPED_PREFIX) && text.includes('.') ? text.slice(MAPPED_PREFIX.length) : text;
      this.#lastPeerBytes = peerAddressBytes(unmapped);
      this.#lastPeerText = text;
    }
    return this.#lastPeerBytes;
  }

  onDatagram(handler: UdpDatagramHandler): void {
    this.#socket.on('message', (msg, rinfo) => {
      let from: Uint8Array;
      try {
        from = this.#peerBytes(rinfo.address);
      } catch {
        return;
      }
      // Node's dgram cannot tell which local address a datagram went to.
      handler(msg, msg.length, from, rinfo.port, undefined);
    });
  }

  send(data: Uint8Array, length: number, to: Uint8Array, toPort: number): void {
    // dgram copies synchronously only for a single Buffer; copy so callers may reuse theirs.
    const copy = Buffer.from(data.subarray(0, length));
    if (this.#connected) return this.#socket.send(copy, this.#onSent);
    let host = formatAddress(to);
    if (to.length === 4 && this.#socket.address().family === 'IPv6') host = `${MAPPED_PREFIX}${host}`;
    this.#socket.send(copy, 0, length, toPort, host, this.#onSent);
  }

  readonly #onSent = (err: Error | null): void => {
    if (err) this.sendErrors++;
  };

  flush(): void {}

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/** Bind a dgram-based endpoint. */
export async function createDgramUdpEndpoint(options: UdpEndpointOptions): Promise<UdpEndpoint> {
  if (options.reusePort) {
    throw new Error(
      `reusePort on ${options.address}:${options.port} needs the native UDP addon (Node's dgram has no SO_REUSEPORT); build it with 'make native'`,
    );
  }
  const type = isIPv6(options.address) ? 'udp6' : 'udp4';
  const socket = dgram.createSocket({
    type,
    ...(options.receiveBufferSize ? { recvBufferSize: options.receiveBufferSize } : {}),
    ...(options.sendBufferSize ? { sendBufferSize: options.sendBufferSize } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ address: options.address, port: options.port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  const peer = options.connect;
  if (peer !== undefined) {
    try {
      // connect() throws at once on a bad port and reports lookup or route failures to the callback.
      await new Promise<void>((resolve, reject) =>
        socket.connect(peer.port, peer.address, (err?: Error) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      socket.close();
      throw new Error(`cannot connect a UDP socket to ${peer.address}:${peer.port}: ${(err as Error).message}`, { cause: err });
    }
  }
  return new DgramUdpEndpoint(socket, peer !== undefined);
}
