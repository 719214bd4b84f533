/**
 * The file LogAction and LogResponseAction write to. Buffered writers
 * (dnsdist's default) collect what one turn of the event loop logs and
 * write it in one go on the next turn; unbuffered ones write every line at
 * once, as dnsdist's setbuf(NULL) does.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { LogFileOpenError } from './rule-errors.js';

export interface LogFileOptions {
  /** Append to the file (true) or truncate it when opening (false, dnsdist's default). */
  append?: boolean;
  /** Collect writes and flush them once per event-loop turn (true, the default) or write each at once. */
  buffered?: boolean;
}

function writeChunk(fd: number, data: string | Uint8Array): void {
  if (typeof data === 'string') writeSync(fd, data);
  else writeSync(fd, data);
}

export class LogFileWriter {
  readonly path: string;
  readonly #append: boolean;
  readonly #buffered: boolean;
  #fd: number;
  #pending: (string | Uint8Array)[] = [];
  #flushScheduled = false;

  /** @throws LogFileOpenError when the file cannot be opened. */
  constructor(path: string, options: LogFileOptions = {}) {
    this.path = path;
    this.#append = options.append ?? false;
    this.#buffered = options.buffered ?? true;
    this.#fd = this.#open(this.#append ? 'a' : 'w');
  }

  write(data: string | Uint8Array): void {
    if (this.#fd < 0) return;
    if (!this.#buffered) {
      writeChunk(this.#fd, data);
      return;
    }
    this.#pending.push(data);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // Once per turn, not per line; unref'd so a pending log line never keeps the process alive.
      setImmediate(() => this.flush()).unref();
    }
  }

  /** Write out everything buffered. */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#fd < 0 || this.#pending.length === 0) return;
    const chunks = this.#pending;
    this.#pending = [];
    for (const chunk of chunks) writeChunk(this.#fd, chunk);
  }

  /**
   * Close and reopen the file, for log rotation (dnsdist 1.7's `reload()`),
   * in the same mode as at first (so a non-appending log starts empty again).
   *
   * @throws LogFileOpenError when the file cannot be reopened; the writer is then closed.
   */
  reload(): void {
    this.flush();
    this.#closeFd();
    this.#fd = this.#open(this.#append ? 'a' : 'w');
  }

  /** Flush and close; later writes are ignored. */
  close(): void {
    this.flush();
    this.#closeFd();
  }

  #open(flags: 'a' | 'w'): number {
    try {
      return openSync(this.path, flags, 0o640);
    } catch (err) {
      throw new LogFileOpenError(this.path, err);
    }
  }

  #closeFd(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}
