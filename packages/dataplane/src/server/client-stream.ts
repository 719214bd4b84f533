/**
 * What a TCP client connection reads queries from and writes answers to:
 * a node:net or TLS socket (DoT, and wherever the addon is not built), or
 * one of the addon's TCP streams (plain DNS over TCP). The connection's
 * logic (framing, in-flight limits, read deadlines, connection limits) is
 * the same over either; only the I/O differs.
 */
import type net from 'node:net';
import { frameInScratch } from '../io/message-frame.js';
import { TcpStreamEvent, openTcpStream, type NativeTcpStreamHandle } from '../io/native-tcp-stream.js';

/** Bytes of unsent answers above which a client counts as not reading them (node:net's default high-water mark). */
export const CLIENT_WRITE_HIGH_WATER = 16384;

export interface ClientStream {
  /**
   * Bytes arrived. `transient`: `chunk` is a shared buffer, valid only until
   * the listener returns, so whatever is kept of it must be copied.
   */
  onData(fn: (chunk: Buffer, transient: boolean) => void): void;
  /** The answers written are all sent (after `needsDrain` was true). */
  onDrain(fn: () => void): void;
  /** The connection is closed (by either side, or by an error); once. */
  onClose(fn: () => void): void;
  /** Call `fn` after `ms` without reads or writes (again after each idle stretch); 0 turns it off. */
  onIdle(ms: number, fn: () => void): void;
  /** Write one message with its 2-byte length prefix. */
  writeMessage(data: Buffer, length: number): void;
  /** Answers wait unsent beyond the high-water mark: the client does not read them. */
  readonly needsDrain: boolean;
  readonly closed: boolean;
  pause(): void;
  resume(): void;
  /** End our side once what is written is sent (the connection closes when the client ends its side too). */
  end(): void;
  /** Close now. */
  destroy(): void;
}

/** A node:net or TLS socket. */
export class NetClientStream implements ClientStream {
  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
  }

  onData(fn: (chunk: Buffer, transient: boolean) => void): void {
    this.socket.on('data', (chunk: Buffer) => fn(chunk, false));
  }

  onDrain(fn: () => void): void {
    this.socket.on('drain', fn);
  }

  onClose(fn: () => void): void {
    if (this.socket.destroyed) process.nextTick(fn);
    else this.socket.once('close', fn);
  }

  onIdle(ms: number, fn: () => void): void {
    this.socket.setTimeout(ms);
    this.socket.on('timeout', fn);
  }

  writeMessage(data: Buffer, length: number): void {
    // node:net keeps the buffer until it is sent: each message gets its own.
    const frame = Buffer.allocUnsafe(length + 2);
    frame.writeUInt16BE(length, 0);
    data.copy(frame, 2, 0, length);
    this.socket.write(frame);
  }

  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * One of the addon's TCP streams over an accepted fd. Reads land in a
 * buffer shared by every stream of the process (each read is handled
 * before the next); answers go to the kernel at once, with no node:net
 * objects or events per read or write.
 */
export class NativeClientStream implements ClientStream {
  readonly #handle: NativeTcpStreamHandle;
  readonly #readBuffer: Buffer;
  #onData: ((chunk: Buffer, transient: boolean) => void) | undefined;
  #onDrain: (() => void) | undefined;
  readonly #onClose: Array<() => void> = [];
  #closed = false;
  #queued = 0;
  /** Idle timeout: the time of the last read or write, and the timer that checks it. */
  #idleMs = 0;
  #idleFn: (() => void) | undefined;
  #lastActivity = 0;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(fd: number, readBuffer: Buffer) {
    this.#readBuffer = readBuffer;
    this.#handle = openTcpStream(fd, readBuffer, (kind, n) => this.#event(kind, n));
  }

  #event(kind: number, n: number): void {
    if (kind === TcpStreamEvent.data) {
      this.#touch();
      this.#onData?.(this.#readBuffer.subarray(0, n), true);
    } else if (kind === TcpStreamEvent.drained) {
      this.#queued = 0;
      this.#onDrain?.();
    } else if (kind === TcpStreamEvent.closed) {
      this.#finish();
    }
  }

  onData(fn: (chunk: Buffer, transient: boolean) => void): void {
    this.#onData = fn;
  }

  onDrain(fn: () => void): void {
    this.#onDrain = fn;
  }

  onClose(fn: () => void): void {
    if (this.#closed) process.nextTick(fn);
    else this.#onClose.push(fn);
  }

  onIdle(ms: number, fn: () => void): void {
    this.#idleMs = ms;
    this.#idleFn = fn;
    this.#touch();
  }

  /** Activity: the idle clock starts again (a timer is armed only when none runs: no timer work per query). */
  #touch(): void {
    if (this.#idleMs <= 0) return;
    this.#lastActivity = performance.now();
    if (this.#idleTimer === undefined && !this.#closed) this.#armIdle(this.#idleMs);
  }

  #armIdle(ms: number): void {
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#closed) return;
      const left = this.#lastActivity + this.#idleMs - performance.now();
      if (left > 1) this.#armIdle(left);
      else this.#idleFn?.();
    }, ms);
  }

  writeMessage(data: Buffer, length: number): void {
    if (this.#closed) return;
    this.#touch();
    const r = this.#handle.write(frameInScratch(data, length), 0, length + 2);
    // A failed write needs nothing here: the stream reports the broken connection as closed.
    if (r >= 0) this.#queued = r;
  }

  get needsDrain(): boolean {
    return this.#queued > CLIENT_WRITE_HIGH_WATER;
  }

  get closed(): boolean {
    return this.#closed;
  }

  pause(): void {
    this.#handle.setReading(false);
  }

  resume(): void {
    if (!this.#closed) this.#handle.setReading(true);
  }

  end(): void {
    // As node:net's end(): our FIN follows the answers still queued; the connection closes when the client closes its side.
    if (!this.#closed) this.#handle.shutdown();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#handle.close();
    // The addon reports nothing after close(): tell the listeners here, a tick later as node:net does.
    process.nextTick(() => this.#finish());
    this.#closed = true;
  }

  #finish(): void {
    this.#closed = true;
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    for (const fn of this.#onClose.splice(0)) fn();
  }
}
