/**
 * A console reply kept within the maximum message size while it is being
 * built: text past the limit is counted, not stored, so a command that
 * prints or returns 100 MB costs the limit in memory, not 100 MB.
 */

/**
 * Room kept at the end of a cut reply for the line saying it was cut. The
 * longest note (two 16-digit counts) is under 200 bytes.
 */
const NOTE_RESERVE = 200;

/** The line that ends a cut reply: how much was left out and which setting decides. */
export function consoleReplyCutNote(maxBytes: number, droppedBytes: number): string {
  return `[output cut at ${maxBytes} bytes to fit setConsoleOutputMaxMsgSize(); ${droppedBytes} more bytes not sent]\n`;
}

/**
 * Accumulates one reply up to `maxBytes` UTF-8 bytes (0: no limit). Once
 * full, further text is only counted; `finish()` ends a cut reply with
 * consoleReplyCutNote(), the whole staying within `maxBytes`.
 */
export class ConsoleReplyBuilder {
  readonly maxBytes: number;
  /** Bytes of text that may be kept: the limit, less room for the note when the limit is large enough to hold one. */
  readonly #keep: number;
  readonly #parts: string[] = [];
  #used = 0;
  #dropped = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
    this.#keep = maxBytes <= 0 ? Infinity : maxBytes > 2 * NOTE_RESERVE ? maxBytes - NOTE_RESERVE : maxBytes;
  }

  /** True once text has been left out. */
  get cut(): boolean {
    return this.#dropped > 0;
  }

  /** Bytes left out so far. */
  get droppedBytes(): number {
    return this.#dropped;
  }

  /** Add text. */
  append(text: string): void {
    if (text.length === 0) return;
    if (this.#dropped > 0) {
      this.#dropped += Buffer.byteLength(text);
      return;
    }
    const room = this.#keep - this.#used;
    const bytes = Buffer.byteLength(text);
    if (bytes <= room) {
      this.#parts.push(text);
      this.#used += bytes;
      return;
    }
    this.#appendCut(Buffer.from(text), room);
  }

  /**
   * Add raw bytes (a Lua string), decoded as UTF-8 only up to what fits:
   * a 100 MB string costs the room left, not 100 MB of JS string.
   */
  appendBytes(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.#dropped > 0) {
      this.#dropped += bytes.length;
      return;
    }
    const room = this.#keep - this.#used;
    if (bytes.length <= room) {
      const text = decodeUtf8(bytes);
      this.#parts.push(text);
      // Invalid sequences decode to U+FFFD (3 bytes), so the text can be longer than the bytes.
      this.#used += Buffer.byteLength(text);
      if (this.#used > this.#keep) this.#trimOverflow();
      return;
    }
    this.#appendCut(bytes, room);
  }

  /** The reply: everything kept, then the cut note if something was left out. */
  finish(): string {
    let text = this.#parts.join('');
    if (this.#dropped === 0) return text;
    if (this.#keep === this.maxBytes) return text;
    if (text.length > 0 && !text.endsWith('\n')) text += '\n';
    return text + consoleReplyCutNote(this.maxBytes, this.#dropped);
  }

  #appendCut(bytes: Uint8Array, room: number): void {
    const end = utf8Boundary(bytes, Math.max(0, room));
    if (end > 0) {
      const text = decodeUtf8(bytes.subarray(0, end));
      this.#parts.push(text);
      this.#used += Buffer.byteLength(text);
    }
    this.#dropped += bytes.length - end;
    if (this.#used > this.#keep) this.#trimOverflow();
  }

  /** Replacement characters made the kept text longer than the room: cut the last part again. */
  #trimOverflow(): void {
    const last = Buffer.from(this.#parts.pop()!);
    this.#used -= last.length;
    const end = utf8Boundary(last, this.#keep - this.#used);
    this.#parts.push(last.subarray(0, end).toString('utf8'));
    this.#used += end;
    this.#dropped += last.length - end;
  }
}

/** `text` cut to `maxBytes` UTF-8 bytes with the cut note, or `text` itself when it fits (0: no limit). */
export function capConsoleReply(text: string, maxBytes: number): string {
  if (maxBytes <= 0 || text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  const builder = new ConsoleReplyBuilder(maxBytes);
  builder.append(text);
  return builder.finish();
}

/** The longest prefix of `bytes`, at most `max` long, that does not end inside a UTF-8 sequence. */
function utf8Boundary(bytes: Uint8Array, max: number): number {
  if (max >= bytes.length) return bytes.length;
  let end = max;
  // Back off over continuation bytes (10xxxxxx) to the start of the sequence the cut falls in.
  while (end > 0 && end > max - 3 && (bytes[end]! & 0xc0) === 0x80) end--;
  return end;
}

function decodeUtf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
}
