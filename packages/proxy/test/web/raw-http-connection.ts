/**
 * One HTTP connection driven byte by byte, for requests no well-behaved
 * client sends: headers without the body they announce, bodies trickled
 * or cut off, clients that keep writing after the answer. It reads the
 * server's answer as it arrives and tells how the connection ended.
 */
import net from 'node:net';

export interface RawAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

export class RawHttpConnection {
  readonly socket: net.Socket;
  #data = Buffer.alloc(0);
  #answer: RawAnswer | undefined;
  #waiters: Array<() => void> = [];
  /** How the connection ended: the server's FIN, a reset, or still open. */
  ended: 'eof' | 'reset' | 'open' = 'open';
  /** All answers seen, interim (100 Continue) ones included, by status. */
  readonly statuses: number[] = [];
  readonly #closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#data = Buffer.concat([this.#data, d]);
      this.#parse();
    });
    socket.on('end', () => {
      if (this.ended === 'open') this.ended = 'eof';
      this.#wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.ended === 'open') this.ended = err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset' : 'eof';
      this.#wake();
    });
    this.#closed = new Promise((resolve) =>
      socket.on('close', () => {
        if (this.ended === 'open') this.ended = 'eof';
        this.#wake();
        resolve();
      }),
    );
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawHttpConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port }, () => {
        s.off('error', reject);
        resolve(new RawHttpConnection(s));
      });
      s.once('error', reject);
    });
  }

  /** Write bytes; resolves once handed to the kernel, false when the connection is already gone. */
  write(data: string | Buffer): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) return resolve(false);
      this.socket.write(data, (err) => resolve(!err));
    });
  }

  /**
   * Keep writing `chunk` as fast as the connection takes it until the
   * server answers or the connection ends; resolves with the bytes written.
   */
  async flood(chunk: Buffer, framing: 'raw' | 'chunked' = 'raw'): Promise<number> {
    let written = 0;
    const frame =
      framing === 'chunked' ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk;
    while (this.#answer === undefined && this.ended === 'open' && !this.socket.destroyed) {
      if (!this.socket.write(frame)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            this.socket.off('drain', done);
            this.#waiters = this.#waiters.filter((w) => w !== done);
            resolve();
          };
          this.socket.once('drain', done);
          this.#waiters.push(done);
        });
      }
      written += frame.length;
    }
    return written;
  }

  /** The server's (final) answer, once complete; undefined when the connection ended without one. */
  async answer(): Promise<RawAnswer | undefined> {
    await this.until(() => this.#answer !== undefined);
    return this.#answer;
  }

  /** Resolves once `done()` holds after something arrived, or the connection ended. */
  async until(done: () => boolean): Promise<void> {
    while (!done() && this.ended === 'open') await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Resolves when the connection is closed (by either side). */
  closed(): Promise<void> {
    return this.#closed;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #parse(): void {
    for (;;) {
      if (this.#answer !== undefined) return;
      const end = this.#data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.#data.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      if (status >= 100 && status < 200) {
        this.statuses.push(status);
        this.#data = this.#data.subarray(end + 4);
        this.#wake();
        continue;
      }
      const length = Number(headers['content-length'] ?? 0);
      if (this.#data.length < end + 4 + length) return;
      this.statuses.push(status);
      this.#answer = { status, headers, body: this.#data.subarray(end + 4, end + 4 + length).toString('utf8') };
      this.#wake();
    }
  }
}

/** Request head text: `lines` are header lines without CRLF. */
export function requestHead(method: string, path: string, lines: string[]): string {
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
}

/** An Authorization header line for basic auth. */
export function basicAuth(user: string, password: string): string {
  return `Authorization: Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
