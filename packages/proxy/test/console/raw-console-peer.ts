/**
 * A hand-driven console peer for the tests: raw bytes in and out, so a
 * test can send what no well-behaved client would and see exactly what
 * the server answers.
 */
import { connect, type Socket } from 'node:net';
import { ConsoleCipher, ConsoleFrameReader, CONSOLE_NONCE_BYTES, newConsoleNonce } from '@dnsdist-ts/console/console/index.js';

export class RawConsolePeer {
  readonly socket: Socket;
  readonly reader = new ConsoleFrameReader(() => 0);
  /** Resolves when the socket is fully closed, by either side. */
  readonly closed: Promise<void>;
  /** Bytes received in total, to tell "closed without a word" from "answered then closed". */
  receivedBytes = 0;
  #wake: (() => void) | undefined;
  #isClosed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      this.receivedBytes += chunk.length;
      this.reader.push(chunk);
      this.#wake?.();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#isClosed = true;
        this.#wake?.();
        resolve();
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawConsolePeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawConsolePeer(socket));
      });
    });
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Do the nonce exchange and return the client-side cipher. */
  async handshake(key: Uint8Array): Promise<ConsoleCipher> {
    const clientNonce = newConsoleNonce();
    this.write(clientNonce);
    const serverNonce = await this.#until(() => this.reader.takeBytes(CONSOLE_NONCE_BYTES));
    return ConsoleCipher.create('client', key, clientNonce, serverNonce);
  }

  /** The next whole frame's payload; rejects if the connection closes first. */
  nextFrame(): Promise<Buffer> {
    return this.#until(() => this.reader.nextFrame());
  }

  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  async #until<T>(take: () => T | undefined): Promise<T> {
    for (;;) {
      const got = take();
      if (got !== undefined) return got;
      if (this.#isClosed) throw new Error('connection closed before the expected bytes arrived');
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}
