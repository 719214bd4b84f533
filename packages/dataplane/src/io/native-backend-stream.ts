/**
 * A connection to a backend over the addon's TCP streams
 * (native-tcp-stream.ts): what BackendTcpConnections uses for plain TCP
 * when the addon is built. Reads land in the buffer the connections share;
 * a failure to even start connecting (EMFILE, no route) is reported as a
 * close on the next tick, as node:net reports it, so the caller's
 * bookkeeping of the query it is about to write stays in one place.
 */
import { frameInScratch } from './message-frame.js';
import { TcpStreamEvent, connectTcpStream, type NativeTcpStreamHandle } from './native-tcp-stream.js';

/** What a backend connection hears from its stream. */
export interface NativeBackendStreamEvents {
  /** `n` bytes at the start of the shared read buffer. */
  data(n: number): void;
  connected(): void;
  /** The connection is gone (the backend closed it, reset it, or it never connected). No event follows. */
  closed(errno: number): void;
}

export class NativeBackendStream {
  readonly #handle: NativeTcpStreamHandle | undefined;

  /** Start connecting to `address` (4 or 16 bytes) on `port`. */
  constructor(address: Uint8Array, port: number, readBuffer: Buffer, events: NativeBackendStreamEvents) {
    const padded = new Uint8Array(16);
    padded.set(address);
    try {
      this.#handle = connectTcpStream(address.length === 4 ? 4 : 6, padded, port, readBuffer, (kind, n) => {
        if (kind === TcpStreamEvent.data) events.data(n);
        else if (kind === TcpStreamEvent.connected) events.connected();
        else if (kind === TcpStreamEvent.closed) events.closed(n);
      });
    } catch (err) {
      const errno = (err as { errno?: number }).errno ?? 0;
      process.nextTick(() => events.closed(errno));
    }
  }

  /** Frames go to the kernel at once; what it does not take now is sent as the socket allows. */
  write(frame: Buffer): void {
    // A failed write needs nothing here: the stream reports the broken connection as closed.
    this.#handle?.write(frame, 0, frame.length);
  }

  writeQuery(packet: Buffer, length: number, id: number): void {
    this.#handle?.write(frameInScratch(packet, length, id), 0, length + 2);
  }

  destroy(): void {
    this.#handle?.close();
  }
}
