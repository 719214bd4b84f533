/**
 * One accepted console connection on the server side: nonce exchange,
 * then frames answered strictly in order, one command at a time.
 */
import type { Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ConsoleCipher, CONSOLE_MAC_BYTES, CONSOLE_NONCE_BYTES, newConsoleNonce } from './console-crypto.js';
import { ConsoleDecryptError, ConsoleFrameTooLargeError } from './console-errors.js';
import { CONSOLE_PING_FRAME, ConsoleFrameReader, encodeConsoleFrameHeader } from './console-framing.js';
import type { ConsoleLog, ConsoleRunner } from './console-hooks.js';
import { capConsoleReply } from './console-reply.js';

/**
 * Replies longer than this are sealed on a later turn of the event loop
 * than the one that produced them: producing and sealing 10 MB each hold
 * the loop (and DNS) for tens of milliseconds, better twice than once for
 * the sum.
 */
const LARGE_REPLY_CHARS = 1 << 20;

/** What a connection reads from its server on every use, so runtime changes apply. */
export interface ConsoleConnectionContext {
  readonly runner: ConsoleRunner;
  readonly maxMessageSize: number;
  readonly logConnections: boolean;
  /** Read once, when the connection is accepted; 0: no deadline. */
  readonly handshakeTimeoutMs: number;
  readonly log: ConsoleLog | undefined;
}

/** Internal to ConsoleServer: one session's state and its socket's lifetime. */
export class ConsoleServerConnection {
  readonly #socket: Socket;
  /** Captured at accept time: a setKey() run on this connection applies to the next ones, not to its own reply. */
  readonly #key: Uint8Array;
  readonly #context: ConsoleConnectionContext;
  /** "127.0.0.1:53864", for the log. */
  readonly peer: string;
  readonly #reader: ConsoleFrameReader;
  #cipher: ConsoleCipher | undefined;
  #busy = false;
  /** The client shut its sending side: answer what is queued, then close. */
  #inputEnded = false;
  /** Pending until the first message opens with the key; then cleared. */
  #handshakeTimer: NodeJS.Timeout | undefined;
  /** Tells a running command that nobody will read its reply. */
  readonly #gone = new AbortController();
  /** Resolves once the socket is fully closed. */
  readonly closed: Promise<void>;

  constructor(socket: Socket, key: Uint8Array, peer: string, context: ConsoleConnectionContext) {
    this.#socket = socket;
    this.#key = key;
    this.peer = peer;
    this.#context = context;
    this.#reader = new ConsoleFrameReader(() => context.maxMessageSize);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#reader.push(chunk);
      this.#pump();
    });
    socket.on('end', () => {
      this.#inputEnded = true;
      this.#pump();
    });
    // Resets and the like: without a listener they would be thrown as uncaught errors.
    socket.on('error', (e) => context.log?.('verbose', `Error on control connection from ${peer}: ${e.message}`));
    socket.on('close', () => {
      clearTimeout(this.#handshakeTimer);
      this.#gone.abort();
      if (context.logConnections) context.log?.('info', `Closed control connection from ${peer}`);
    });
    const deadline = context.handshakeTimeoutMs;
    if (deadline > 0) {
      this.#handshakeTimer = setTimeout(() => {
        context.log?.(
          'warning',
          `Control connection from ${peer} closed: no handshake within ${deadline} ms (a client sends its nonce and a first encrypted message at once)`,
        );
        socket.destroy();
      }, deadline);
      this.#handshakeTimer.unref();
    }
  }

  /** Drop the connection now, whatever it was doing. */
  destroy(): void {
    this.#socket.destroy();
  }

  /** Work through everything buffered; re-entered on each arrival, but only one pass runs at a time. */
  #pump(): void {
    if (this.#busy) return;
    this.#busy = true;
    this.#drain()
      .catch((e: unknown) => {
        this.#context.log?.(
          'error',
          `Got an exception in control connection from ${this.peer}: ${e instanceof Error ? e.message : String(e)}`,
        );
        this.#socket.destroy();
      })
      .finally(() => {
        this.#busy = false;
      });
  }

  async #drain(): Promise<void> {
    const socket = this.#socket;
    while (!socket.destroyed) {
      if (this.#cipher === undefined) {
        const clientNonce = this.#reader.takeBytes(CONSOLE_NONCE_BYTES);
        if (clientNonce === undefined) break;
        const serverNonce = newConsoleNonce();
        socket.write(serverNonce);
        this.#cipher = await ConsoleCipher.create('server', this.#key, clientNonce, serverNonce);
        continue;
      }

      let frame: Buffer | undefined;
      try {
        frame = this.#reader.nextFrame();
      } catch (e) {
        if (!(e instanceof ConsoleFrameTooLargeError)) throw e;
        this.#context.log?.('warning', `Control connection from ${this.peer} closed: ${e.message}`);
        socket.destroy();
        return;
      }
      if (frame === undefined) break;
      if (frame.length === 0) {
        socket.write(CONSOLE_PING_FRAME);
        continue;
      }

      let line: string;
      try {
        line = this.#cipher.open(frame);
      } catch (e) {
        if (!(e instanceof ConsoleDecryptError)) throw e;
        this.#context.log?.('verbose', `Control connection from ${this.peer} closed: ${e.message}`);
        socket.destroy();
        return;
      }
      // The peer holds the key: the handshake is complete.
      clearTimeout(this.#handshakeTimer);

      const reply = await this.#run(line);
      if (reply.length > LARGE_REPLY_CHARS) await nextTurn();
      if (socket.destroyed) return;
      const sealed = this.#cipher.seal(reply);
      // Header and body in one segment, without copying the body behind the header.
      socket.cork();
      socket.write(encodeConsoleFrameHeader(sealed.length));
      socket.write(sealed);
      socket.uncork();
    }
    if (!this.#inputEnded || socket.destroyed) return;
    // The client is done sending and everything it sent is answered; a
    // partial frame or nonce left over can never be completed.
    if (this.#reader.buffered === 0) socket.end();
    else socket.destroy();
  }

  async #run(line: string): Promise<string> {
    // Running nothing prints nothing: answer without bothering the runner.
    // dnsdist's client sends exactly this right after connecting to test the key.
    if (line === '') return '';
    // Stop reading while a command runs: a client piping in commands
    // faster than they complete waits in TCP instead of in our memory.
    this.#socket.pause();
    const max = this.#context.maxMessageSize;
    // A limit under the MAC size leaves no room at all; 1 keeps it a limit (0 would mean none).
    const maxReplyBytes = max > 0 ? Math.max(1, max - CONSOLE_MAC_BYTES) : 0;
    try {
      // Capped here too: a runner that ignores maxReplyBytes still cannot send a frame the client refuses.
      return capConsoleReply(await this.#context.runner(line, { signal: this.#gone.signal, maxReplyBytes }), maxReplyBytes);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (!this.#socket.destroyed) this.#context.log?.('error', `Console command from ${this.peer} failed: ${message}`);
      return capConsoleReply(`Error: ${message}\n`, maxReplyBytes);
    } finally {
      if (!this.#socket.destroyed) this.#socket.resume();
    }
  }
}
