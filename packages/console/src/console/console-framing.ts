/**
 * The console's byte stream: after the 24-byte handshake nonce, a series
 * of frames, each a 4-byte big-endian length followed by that many bytes
 * (a sealed message). A zero length is a ping and carries nothing.
 */
import { ConsoleFrameTooLargeError } from './console-errors.js';

/** Size of the big-endian length in front of every frame. */
export const CONSOLE_FRAME_HEADER_BYTES = 4;

/** dnsdist's default for setConsoleOutputMaxMsgSize(): 10 MB. */
export const DEFAULT_CONSOLE_MAX_MESSAGE_SIZE = 10_000_000;

/** The ping frame (and its answer): a zero length and nothing else. */
export const CONSOLE_PING_FRAME: Buffer = Buffer.alloc(CONSOLE_FRAME_HEADER_BYTES);

/** The 4-byte length header of a frame carrying `length` bytes (to send before the payload without copying it). */
export function encodeConsoleFrameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(CONSOLE_FRAME_HEADER_BYTES);
  header.writeUInt32BE(length, 0);
  return header;
}

/** Length header followed by `payload`. */
export function encodeConsoleFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(CONSOLE_FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, CONSOLE_FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Reassembles what TCP delivers in arbitrary pieces into the handshake
 * nonce and whole frames. Feed it with `push`, then take as much as is
 * complete; nothing is taken until it is complete.
 */
export class ConsoleFrameReader {
  /** Received pieces not yet taken; the first may be partly consumed already (sliced). */
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  readonly #maxMessageSize: () => number;

  /** @param maxMessageSize - read before every frame, so a limit changed at runtime applies at once. */
  constructor(maxMessageSize: () => number) {
    this.#maxMessageSize = maxMessageSize;
  }

  /** Bytes received and not yet taken. */
  get buffered(): number {
    return this.#buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    // Kept as a list and joined only once a whole item is there: a large
    // frame arriving in many segments is copied once, not once per segment.
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** Exactly `n` raw bytes (the handshake nonce), or undefined until that many have arrived. */
  takeBytes(n: number): Buffer | undefined {
    if (this.#buffered < n) return undefined;
    return this.#take(n);
  }

  /**
   * The next whole frame's payload (empty for a ping), or undefined until
   * it has fully arrived.
   *
   * @throws ConsoleFrameTooLargeError as soon as a header announces more than the limit
   *   (0 means no limit): the caller must drop the connection, the stream cannot be resynchronised.
   */
  nextFrame(): Buffer | undefined {
    if (this.#buffered < CONSOLE_FRAME_HEADER_BYTES) return undefined;
    const length = this.#peekLength();
    const limit = this.#maxMessageSize();
    if (limit > 0 && length > limit) throw new ConsoleFrameTooLargeError(length, limit);
    if (this.#buffered < CONSOLE_FRAME_HEADER_BYTES + length) return undefined;
    this.#take(CONSOLE_FRAME_HEADER_BYTES);
    return this.#take(length);
  }

  #peekLength(): number {
    const first = this.#chunks[0]!;
    if (first.length >= CONSOLE_FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    let length = 0;
    let got = 0;
    for (const chunk of this.#chunks) {
      for (let i = 0; i < chunk.length && got < CONSOLE_FRAME_HEADER_BYTES; i++, got++) length = length * 256 + chunk[i]!;
      if (got === CONSOLE_FRAME_HEADER_BYTES) break;
    }
    return length;
  }

  /** Remove and return the first `n` bytes; the caller has checked that they are there. */
  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (n === 0 || first === undefined) return Buffer.alloc(0);
    if (first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0]!;
      const used = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(used);
    }
    return out;
  }
}
