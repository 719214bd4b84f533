/**
 * The console client behind `dnsdist-ts -c` / `-e`: connects to a
 * controlSocket (ours or dnsdist's), exchanges nonces, checks the key and
 * sends commands, one sealed frame each, replies coming back in order.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { formatConsoleAddress } from './console-address.js';
import { ConsoleCipher, CONSOLE_NONCE_BYTES, loadConsoleCrypto, newConsoleNonce } from './console-crypto.js';
import { ConsoleConnectionError, ConsoleKeyMismatchError } from './console-errors.js';
import { CONSOLE_PING_FRAME, ConsoleFrameReader, DEFAULT_CONSOLE_MAX_MESSAGE_SIZE, encodeConsoleFrame } from './console-framing.js';
import { parseConsoleKey } from './console-key.js';

export interface ConsoleClientOptions {
  /** Server address without brackets: "127.0.0.1", "::1". */
  host: string;
  /** Server port (dnsdist's default is 5199, DEFAULT_CONSOLE_PORT). */
  port: number;
  /** The shared key: 32 raw bytes, or its base64 text as setKey() takes it. */
  key: Uint8Array | string;
  /** Replies announcing more bytes than this fail and close the connection; 0 means no limit. Default 10,000,000. */
  maxMessageSize?: number;
  /** Give up connecting (TCP connect plus nonce exchange and key check) after this long. Default 10 s. */
  connectTimeoutMs?: number;
}

/** Options of `runInteractive`. */
export interface ConsoleInteractiveOptions {
  /** Written before each line is read; default "> " when `input` is a TTY, nothing otherwise. */
  prompt?: string;
}

/** Why an interactive session ended. */
export type ConsoleSessionEnd = 'eof' | 'quit' | 'closed';

/** A reply the client is waiting for: the handshake nonce, or the frame answering a command or ping. */
interface Pending {
  kind: 'nonce' | 'frame';
  resolve(payload: Buffer): void;
  reject(error: Error): void;
}

export class ConsoleClient {
  /** "host:port" of the server, for messages. */
  readonly address: string;
  readonly #socket: Socket;
  readonly #reader: ConsoleFrameReader;
  readonly #pending: Pending[] = [];
  #cipher: ConsoleCipher | undefined;
  /** Set once the connection is gone; every later call fails with it. */
  #failure: Error | undefined;
  readonly #closed: Promise<void>;

  private constructor(socket: Socket, address: string, maxMessageSize: number) {
    this.#socket = socket;
    this.address = address;
    this.#reader = new ConsoleFrameReader(() => maxMessageSize);
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.#reader.push(chunk);
      this.#dispatch();
    });
    let lastError: Error | undefined;
    socket.on('error', (e) => {
      lastError = e;
    });
    socket.on('close', () => {
      this.#fail(
        new ConsoleConnectionError(
          `the console server ${address} closed the connection${lastError ? ` (${lastError.message})` : ''}`,
          address,
          'closed',
          { cause: lastError },
        ),
      );
    });
  }

  /**
   * Connect, exchange nonces and check the key the way dnsdist's client
   * does: by sending an empty sealed message, which a server with another
   * key cannot open, so it hangs up.
   *
   * @throws ConsoleKeyError for a malformed key text.
   * @throws ConsoleConnectionError when the server is unreachable ('connect') or hangs up
   *   before answering the nonce ('handshake': console ACL or connection limit).
   * @throws ConsoleKeyMismatchError when the server hangs up on the key check.
   */
  static async connect(options: ConsoleClientOptions): Promise<ConsoleClient> {
    const key = typeof options.key === 'string' ? parseConsoleKey(options.key, 'console key') : options.key;
    const address = formatConsoleAddress(options);
    await loadConsoleCrypto();
    const socket = await openSocket(options.host, options.port, address, options.connectTimeoutMs ?? 10_000);
    const client = new ConsoleClient(socket, address, options.maxMessageSize ?? DEFAULT_CONSOLE_MAX_MESSAGE_SIZE);
    const timeout = options.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      client.#fail(new ConsoleConnectionError(`no answer from the console server ${address} within ${timeout} ms`, address, 'handshake'));
      socket.destroy();
    }, timeout);
    try {
      await client.#handshake(key);
      return client;
    } catch (e) {
      socket.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Connect, run one command, write its reply to `output` and disconnect:
   * what `-e` does. Returns the reply as well.
   */
  static async runOnce(options: ConsoleClientOptions, command: string, output: Writable): Promise<string> {
    const client = await ConsoleClient.connect(options);
    try {
      const reply = await client.run(command);
      await writeOut(output, reply);
      return reply;
    } finally {
      await client.close();
    }
  }

  /**
   * Send one command and resolve with the server's reply text, as it is
   * (replies to values end in "\n"; output of commands that print is
   * whatever they printed; an empty string for nothing).
   *
   * Calls may overlap: they are sent at once and answered in order.
   *
   * @throws ConsoleConnectionError when the connection is (or gets) closed.
   * @throws ConsoleDecryptError / ConsoleFrameTooLargeError on a broken reply (the connection is closed).
   */
  async run(command: string): Promise<string> {
    const cipher = this.#requireOpen();
    const reply = this.#expect('frame');
    this.#socket.write(encodeConsoleFrame(cipher.seal(command)));
    const frame = await reply;
    return frame.length === 0 ? '' : this.#open(frame);
  }

  /** Send a zero-length frame and wait for the server's zero-length answer: a liveness check without crypto. */
  async ping(): Promise<void> {
    this.#requireOpen();
    const reply = this.#expect('frame');
    this.#socket.write(CONSOLE_PING_FRAME);
    const frame = await reply;
    if (frame.length !== 0) {
      this.#socket.destroy();
      throw new ConsoleConnectionError(
        `the console server ${this.address} answered a ping with a ${frame.length}-byte frame instead of an empty one`,
        this.address,
        'closed',
      );
    }
  }

  /**
   * Read lines from `input` and run each, writing replies to `output`,
   * until end of input, a "quit" line or the server hanging up. Empty
   * lines are not sent; "help" and "?" become "help()", as in dnsdist.
   */
  async runInteractive(input: Readable, output: Writable, options: ConsoleInteractiveOptions = {}): Promise<ConsoleSessionEnd> {
    const prompt = options.prompt ?? ((input as { isTTY?: boolean }).isTTY ? '> ' : '');
    const reader = createInterface({ input, terminal: false, crlfDelay: Infinity });
    // Taken at once: lines read while we are busy elsewhere (the first
    // prompt, a command) are queued by the iterator instead of lost.
    const lines = reader[Symbol.asyncIterator]();
    try {
      if (prompt) await writeOut(output, prompt);
      for (let next = await lines.next(); !next.done; next = await lines.next()) {
        const typed = next.value;
        if (typed === 'quit') return 'quit';
        const line = typed === 'help' || typed === '?' ? 'help()' : typed;
        if (line !== '') {
          let reply: string;
          try {
            reply = await this.run(line);
          } catch (e) {
            if (e instanceof ConsoleConnectionError && e.failure === 'closed') {
              await writeOut(output, 'Connection closed by the server.\n');
              return 'closed';
            }
            throw e;
          }
          await writeOut(output, reply);
        }
        if (prompt) await writeOut(output, prompt);
      }
      return 'eof';
    } finally {
      reader.close();
    }
  }

  /** Disconnect; pending calls fail. Resolves once the socket is closed. */
  async close(): Promise<void> {
    this.#socket.destroy();
    await this.#closed;
  }

  async #handshake(key: Uint8Array): Promise<void> {
    const clientNonce = newConsoleNonce();
    const serverNonceArrives = this.#expect('nonce');
    this.#socket.write(clientNonce);
    let serverNonce: Buffer;
    try {
      serverNonce = await serverNonceArrives;
    } catch (e) {
      if (!(e instanceof ConsoleConnectionError) || e.failure !== 'closed') throw e;
      throw new ConsoleConnectionError(
        `the console server ${this.address} closed the connection during the handshake: this address may not be in its console ACL ` +
          `(setConsoleACL/addConsoleACL), it may have reached its connection limit, or it has no valid key (setKey)`,
        this.address,
        'handshake',
        { cause: e },
      );
    }
    this.#cipher = await ConsoleCipher.create('client', key, clientNonce, serverNonce);
    try {
      await this.run('');
    } catch (e) {
      if (e instanceof ConsoleConnectionError && e.failure === 'closed') throw new ConsoleKeyMismatchError(this.address);
      throw e;
    }
  }

  #requireOpen(): ConsoleCipher {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#cipher === undefined) throw new Error('ConsoleClient used before connect() finished');
    return this.#cipher;
  }

  #expect(kind: Pending['kind']): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.#failure !== undefined) reject(this.#failure);
      else this.#pending.push({ kind, resolve, reject });
    });
  }

  /** Opened here, in arrival order, so overlapping run() calls use the nonces in the server's order. */
  #open(frame: Buffer): string {
    try {
      return this.#cipher!.open(frame);
    } catch (e) {
      // The reply stream can no longer be trusted or followed.
      this.#socket.destroy();
      throw e;
    }
  }

  #dispatch(): void {
    for (;;) {
      const next = this.#pending[0];
      if (next === undefined) {
        if (this.#reader.buffered > 0) {
          this.#fail(new ConsoleConnectionError(`the console server ${this.address} sent data nobody asked for`, this.address, 'closed'));
          this.#socket.destroy();
        }
        return;
      }
      let payload: Buffer | undefined;
      try {
        payload = next.kind === 'nonce' ? this.#reader.takeBytes(CONSOLE_NONCE_BYTES) : this.#reader.nextFrame();
      } catch (e) {
        this.#fail(e as Error);
        this.#socket.destroy();
        return;
      }
      if (payload === undefined) return;
      this.#pending.shift();
      next.resolve(payload);
    }
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.splice(0)) pending.reject(this.#failure);
  }
}

function openSocket(host: string, port: number, address: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConsoleConnectionError(`could not connect to the console at ${address} within ${timeoutMs} ms`, address, 'connect'));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new ConsoleConnectionError(
          `could not connect to the console at ${address}: ${e.message}; is controlSocket() set on the server, with this address?`,
          address,
          'connect',
          { cause: e },
        ),
      );
    });
  });
}

/** Write and wait for the stream to accept more, so a slow terminal or pipe is not flooded. */
function writeOut(output: Writable, text: string): Promise<void> {
  if (text === '') return Promise.resolve();
  return new Promise((resolve, reject) => {
    output.write(text, (e) => (e ? reject(e) : resolve()));
  });
}
