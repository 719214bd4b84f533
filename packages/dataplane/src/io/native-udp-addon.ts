/**
 * Loads the proxy's UDP I/O addon (native/*.cc, built by `make native`)
 * and describes its raw surface. Nothing here is meant for direct use:
 * `createNativeUdpEndpoint` wraps it behind the `UdpEndpoint` interface.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the socket is bound to; `address` is 16 bytes, IPv4 in the first 4. */
export interface NativeUdpBindOptions {
  family: 4 | 6;
  address: Uint8Array;
  port: number;
  reusePort: boolean;
  receiveBufferSize: number;
  sendBufferSize: number;
  /** Take this bound UDP socket of the process (a duplicate of it) instead of binding one. */
  adoptFd?: number;
}

/**
 * Receive-side arrays shared with the addon, one entry per slot. After a
 * batch callback, slot i holds `lengths[i]` bytes at `arena[i * slotSize]`
 * (or -1: skip it), sent from `addresses[16i..]`/`ports[i]`, family
 * `families[i]` (4 or 6).
 */
export interface NativeUdpReceiveViews {
  arena: Uint8Array;
  slotSize: number;
  lengths: Int32Array;
  addresses: Uint8Array;
  ports: Uint16Array;
  families: Uint8Array;
  /**
   * Given on a wildcard bind (0.0.0.0, ::): the address each datagram was
   * sent to (`destinations[16i..]`, family `destinationFamilies[i]`, 0 when
   * the kernel did not say), from IP_PKTINFO / IPV6_PKTINFO.
   */
  destinations?: Uint8Array;
  destinationFamilies?: Uint8Array;
}

/** Send-side arrays: datagram i is `lengths[i]` bytes at `arena[offsets[i]]`. */
export interface NativeUdpSendViews {
  arena: Uint8Array;
  offsets: Int32Array;
  lengths: Int32Array;
  addresses: Uint8Array;
  ports: Uint16Array;
  families: Uint8Array;
  /**
   * With destinations on receive (a wildcard bind): the source address
   * datagram i leaves from (`sources[16i..]`, family `sourceFamilies[i]`;
   * 0 leaves the choice to the kernel).
   */
  sources?: Uint8Array;
  sourceFamilies?: Uint8Array;
}

/** What the kernel reports once bound. */
export interface NativeUdpSocketInfo {
  family: 4 | 6;
  /** 16 bytes, IPv4 in the first 4. */
  address: Uint8Array;
  port: number;
  /** Effective SO_RCVBUF / SO_SNDBUF (Linux doubles what was asked). */
  receiveBufferSize: number;
  sendBufferSize: number;
  fd: number;
}

/** One addon-owned socket. */
export interface NativeUdpSocket {
  info(): NativeUdpSocketInfo;
  /** Start polling; `onBatch(count)` runs once per received batch of `count` slots. */
  start(onBatch: (count: number) => void): void;
  /** Send the first `count` datagrams described by the send views; returns how many the kernel took. */
  flush(count: number): number;
  /** connect(2) to the peer; later flushes send to it and ignore the per-datagram addresses. */
  connect(family: 4 | 6, address: Uint8Array, port: number): void;
  /** Stop polling and close the fd; resolves once the poll handle is closed. */
  close(): Promise<void>;
}

/** One addon-owned TCP stream (native/tcp-stream.h). */
export interface NativeTcpStreamHandle {
  /** Send now what the kernel takes, queue the rest natively: the bytes still queued (0: all sent), or -errno. */
  write(bytes: Uint8Array, offset: number, length: number): number;
  /** Stop or resume reading (the kernel's buffers then hold what the peer sends). */
  setReading(on: boolean): void;
  /** End our side once the queue is sent. */
  shutdown(): void;
  /** Close the fd now, dropping what is queued; no event follows. */
  close(): void;
  /** Bytes written and not yet taken by the kernel. */
  queued(): number;
  /** Both ends' addresses (16 bytes each, IPv4 in the first 4), or undefined once closed. */
  addresses(): { family: 4 | 6; peer: Uint8Array; peerPort: number; localFamily: 4 | 6; local: Uint8Array; localPort: number } | undefined;
}

/** The raw addon surface. */
export interface NativeUdpBinding {
  UdpSocket: new (
    bind: NativeUdpBindOptions,
    receive: NativeUdpReceiveViews,
    send: NativeUdpSendViews,
    stats: Float64Array,
  ) => NativeUdpSocket;
  errnoName(errno: number): string;
  /**
   * A bound, listening TCP socket (SO_REUSEPORT when asked), for
   * net.Server.listen({ fd }); throws an errno error with `code` and `op`.
   */
  openTcpListener(options: {
    family: 4 | 6;
    address: Uint8Array;
    port: number;
    reusePort: boolean;
    backlog: number;
    /** TCP_FASTOPEN queue size; 0 or absent leaves it off. */
    fastOpenQueueSize?: number;
  }): {
    fd: number;
    port: number;
  };
  /** A close-on-exec duplicate of an fd of this process; throws an errno error. */
  dupFd(fd: number): number;
  /** An unconnected non-blocking TCP socket with TCP_FASTOPEN_CONNECT, for net.Socket({ fd }); throws an errno error. */
  openTcpFastOpenClient(family: 4 | 6): number;
  /**
   * A stream over a connected TCP fd, which it takes over (native-tcp-stream.ts
   * describes the surface). `connecting`: a connect is under way on the fd
   * (connectTcp); writes wait for it.
   */
  TcpStream: new (
    fd: number,
    readBuffer: Uint8Array,
    onEvent: (kind: number, n: number) => void,
    connecting?: boolean,
  ) => NativeTcpStreamHandle;
  /** Accepts on a listening fd it does not own: onAccept(fd, 0) per connection, onAccept(-1, errno) on an accept error. */
  TcpAcceptor: new (listenFd: number, onAccept: (fd: number, errno: number) => void) => { close(): void };
  /** A non-blocking TCP socket whose connect to the address is under way; throws an errno error. */
  connectTcp(family: 4 | 6, address: Uint8Array, port: number): number;
  /** Most datagrams one recvmmsg/sendmmsg may carry (UIO_MAXIOV). */
  maxBatch: number;
  statCount: number;
}

/** Slots of the shared counters array (mirrors `enum Stat` in native/udp-socket.h). */
export const NativeUdpStat = {
  batches: 0,
  datagrams: 1,
  truncated: 2,
  receiveErrors: 3,
  sendErrors: 4,
  sent: 5,
  sendCalls: 6,
  lastSendErrno: 7,
  lastReceiveErrno: 8,
  count: 9,
} as const;

const here = dirname(fileURLToPath(import.meta.url));
/** The addon sits in build/Release at the package root, two levels above src/io and dist/io. */
export const nativeUdpAddonPath = join(here, '..', '..', 'build', 'Release', 'dnsdist_udp.node');

/** The UDP addon is missing or failed to load; callers fall back to `dgram`. */
export class NativeUdpUnavailableError extends Error {
  /** The file that was looked for. */
  readonly path: string;

  constructor(message: string, path: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.path = path;
  }
}

let cached: NativeUdpBinding | undefined;
let loadError: NativeUdpUnavailableError | undefined;

/**
 * The addon, loaded on first use. Throws `NativeUdpUnavailableError`
 * (saying how to build it) when it is missing or cannot be loaded.
 */
export function loadNativeUdpAddon(): NativeUdpBinding {
  if (cached) return cached;
  if (loadError) throw loadError;
  if (!existsSync(nativeUdpAddonPath)) {
    loadError = new NativeUdpUnavailableError(
      `@dnsdist-ts/proxy: the UDP addon is not built (${nativeUdpAddonPath} is missing); in a checkout run 'make native', for an npm install install again with install scripts allowed (either way it needs g++, make, python3 and the Node headers), or use the dgram endpoint`,
      nativeUdpAddonPath,
    );
    throw loadError;
  }
  try {
    const binding = createRequire(import.meta.url)(nativeUdpAddonPath) as NativeUdpBinding;
    if (binding.statCount !== NativeUdpStat.count) {
      throw new Error(`it has ${binding.statCount} counters where this code expects ${NativeUdpStat.count}`);
    }
    cached = binding;
    return cached;
  } catch (cause) {
    loadError = new NativeUdpUnavailableError(
      `@dnsdist-ts/proxy: the UDP addon at ${nativeUdpAddonPath} cannot be used (${(cause as Error).message}); rebuild it with 'make native'`,
      nativeUdpAddonPath,
      { cause },
    );
    throw loadError;
  }
}

/** True when the UDP addon can be loaded on this machine. */
export function nativeUdpAvailable(): boolean {
  try {
    loadNativeUdpAddon();
    return true;
  } catch {
    return false;
  }
}
