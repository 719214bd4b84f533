/**
 * TCP streams the native addon owns (native/tcp-stream.cc): DNS over TCP
 * without Node's stream machinery. A read lands in a buffer given at
 * creation (one may serve many streams: each read is handed over, and must
 * be consumed or copied, before the next) and is reported through one
 * callback; a write goes straight to the kernel, and what the kernel does
 * not take waits in a native queue. Per query that saves the objects and
 * callbacks node:net makes for every read and write (a WriteWrap, stream
 * state, `data`/`afterWrite` events): what the TCP path's measurements put
 * above the bare system calls.
 */
import { loadNativeUdpAddon, nativeUdpAvailable, type NativeTcpStreamHandle } from './native-udp-addon.js';

/** What a stream's callback reports (mirrors `enum TcpEvent` in native/tcp-stream.h). */
export const TcpStreamEvent = {
  /** `n` bytes at the start of the read buffer. */
  data: 0,
  /** The write queue emptied. */
  drained: 1,
  /** The connect under way finished. */
  connected: 2,
  /** The stream is closed: `n` is 0 at the peer's end of stream, else the errno. No event follows. */
  closed: 3,
} as const;

export type TcpStreamListener = (kind: number, n: number) => void;

export type { NativeTcpStreamHandle };

/** Whether the addon (and so its TCP streams) can be used here. */
export function nativeTcpStreamsAvailable(): boolean {
  return nativeUdpAvailable();
}

/** Take over an accepted (or otherwise connected) fd. */
export function openTcpStream(fd: number, readBuffer: Uint8Array, onEvent: TcpStreamListener): NativeTcpStreamHandle {
  const { TcpStream } = loadNativeUdpAddon();
  return new TcpStream(fd, readBuffer, onEvent);
}

/**
 * Connect to `address` (16 bytes, IPv4 in the first 4) and stream over it.
 * Writes made before `connected` are queued and sent once it is; a failed
 * connect reports `closed` with its errno.
 */
export function connectTcpStream(
  family: 4 | 6,
  address: Uint8Array,
  port: number,
  readBuffer: Uint8Array,
  onEvent: TcpStreamListener,
): NativeTcpStreamHandle {
  const addon = loadNativeUdpAddon();
  const fd = addon.connectTcp(family, address, port);
  return new addon.TcpStream(fd, readBuffer, onEvent, true);
}

/**
 * Accept connections on a listening fd (which stays its owner's):
 * `onAccept(fd)` per connection, `onError(errno)` when accepting fails
 * (EMFILE…), which does not stop it. Returns what stops it.
 */
export function acceptTcpStreams(listenFd: number, onAccept: (fd: number) => void, onError: (errno: number) => void): { close(): void } {
  const { TcpAcceptor } = loadNativeUdpAddon();
  return new TcpAcceptor(listenFd, (fd, errno) => (fd >= 0 ? onAccept(fd) : onError(errno)));
}
