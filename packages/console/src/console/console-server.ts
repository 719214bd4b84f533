/**
 * dnsdist's control socket: a TCP listener for encrypted console
 * sessions. Knows nothing of Lua: each decrypted line goes to a runner
 * callback and its reply goes back sealed.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { formatAddress, NetmaskGroup, peerAddressBytes as kernelPeerBytes } from '@dnsdist-ts/dns';
import { formatConsoleAddress, parseConsoleAddress } from './console-address.js';
import { loadConsoleCrypto } from './console-crypto.js';
import { DEFAULT_CONSOLE_MAX_MESSAGE_SIZE } from './console-framing.js';
import type { ConsoleLog, ConsoleRunner } from './console-hooks.js';
import { CONSOLE_KEY_BYTES } from './console-key.js';
import { ConsoleServerConnection, type ConsoleConnectionContext } from './console-server-connection.js';

/** dnsdist's default for setConsoleMaximumConcurrentConnections(). */
export const DEFAULT_CONSOLE_MAX_CONNECTIONS = 100;

/**
 * How long a new connection has to send its nonce and a first message
 * that opens with the key. dnsdist has no such deadline, so connections
 * that never finish the handshake hold their slots forever and enough of
 * them lock operators out. Clients (dnsdist's and ours) send both at once.
 */
export const DEFAULT_CONSOLE_HANDSHAKE_TIMEOUT_MS = 5000;

/** The console ACL dnsdist starts with: loopback only. */
export function defaultConsoleACL(): NetmaskGroup {
  return new NetmaskGroup().addMask('127.0.0.0/8').addMask('::1/128');
}

export interface ConsoleServerOptions {
  /** controlSocket()'s argument: "ip[:port]", port 5199 when absent; port 0 picks a free one. */
  address: string;
  /** The 32 raw key bytes (parseConsoleKey). Without a valid key every connection is refused, as dnsdist does. */
  key: Uint8Array | undefined;
  /** Runs each decrypted line; see ConsoleRunner. */
  runner: ConsoleRunner;
  /** Who may connect; default 127.0.0.0/8 and ::1/128. Others are closed right after accept. */
  acl?: NetmaskGroup;
  /** Connections beyond this many are closed right after accept; 0 means no limit. Default 100. */
  maxConcurrentConnections?: number;
  /** A frame announcing more bytes closes its connection; 0 means no limit. Default 10,000,000. */
  maxMessageSize?: number;
  /** Log each connection opened and closed (setConsoleConnectionsLogging); default true. */
  logConnections?: boolean;
  /**
   * Close a connection that has not sent its nonce and a first message
   * opening with the key within this many ms (0: wait forever, as dnsdist
   * does). Default 5000.
   */
  handshakeTimeoutMs?: number;
  /** Where log lines go; none by default. */
  log?: ConsoleLog;
}

/**
 * A listening console. The settings dnsdist lets the configuration change
 * later (setKey, setConsoleACL, setConsoleMaximumConcurrentConnections,
 * setConsoleOutputMaxMsgSize, setConsoleConnectionsLogging) are plain
 * properties, read on each accept or frame.
 */
export class ConsoleServer implements ConsoleConnectionContext {
  /** Key for new connections; an established one keeps the key it started with. */
  key: Uint8Array | undefined;
  acl: NetmaskGroup;
  maxConcurrentConnections: number;
  maxMessageSize: number;
  logConnections: boolean;
  handshakeTimeoutMs: number;
  readonly runner: ConsoleRunner;
  readonly log: ConsoleLog | undefined;
  readonly #server: Server;
  readonly #connections = new Set<ConsoleServerConnection>();
  /** Accepted sockets not yet turned into connections (refusals in progress). */
  readonly #refused = new Set<Socket>();
  #closing: Promise<void> | undefined;

  private constructor(server: Server, options: ConsoleServerOptions) {
    this.#server = server;
    this.key = options.key;
    this.runner = options.runner;
    this.acl = options.acl ?? defaultConsoleACL();
    this.maxConcurrentConnections = options.maxConcurrentConnections ?? DEFAULT_CONSOLE_MAX_CONNECTIONS;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_CONSOLE_MAX_MESSAGE_SIZE;
    this.logConnections = options.logConnections ?? true;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_CONSOLE_HANDSHAKE_TIMEOUT_MS;
    this.log = options.log;
  }

  /**
   * Bind and start accepting.
   *
   * @throws ConsoleAddressError for a malformed address; the listen error (EADDRINUSE…) when binding fails.
   */
  static async listen(options: ConsoleServerOptions): Promise<ConsoleServer> {
    const address = parseConsoleAddress(options.address);
    await loadConsoleCrypto();
    // Half-open sockets allowed: a client that sends its command and shuts its side still gets the reply.
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    const consoleServer = new ConsoleServer(server, options);
    server.on('connection', (socket) => consoleServer.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address.host, port: address.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // After a successful bind, errors are per-accept (EMFILE…): log them, never throw.
    server.on('error', (e) => consoleServer.log?.('error', `Control socket error: ${e.message}`));
    consoleServer.log?.('info', `Accepting control connections on ${consoleServer.localAddress}`);
    return consoleServer;
  }

  /** The bound address with its port ("127.0.0.1:5199"), port 0 resolved. */
  get localAddress(): string {
    const bound = this.#server.address();
    if (bound === null || typeof bound === 'string') return String(bound);
    return formatConsoleAddress({ host: bound.address, port: bound.port });
  }

  /** The bound port (useful after asking for port 0). */
  get localPort(): number {
    const bound = this.#server.address();
    return bound !== null && typeof bound !== 'string' ? bound.port : 0;
  }

  /** Console sessions currently open. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Stop listening and drop every session; resolves once every socket is closed. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      const closing = [...this.#connections].map((c) => {
        c.destroy();
        return c.closed;
      });
      for (const socket of this.#refused) socket.destroy();
      await Promise.all([stopped, ...closing]);
    })();
    return this.#closing;
  }

  #accept(socket: Socket): void {
    // Until it is handed to a connection, a reset on this socket must not become an uncaught error.
    socket.on('error', () => {});
    const peerBytes = peerAddressBytes(socket.remoteAddress);
    const peer = formatConsoleAddress({ host: peerBytes ? formatAddress(peerBytes) : '?', port: socket.remotePort ?? 0 });
    const refuse = (level: 'verbose' | 'error', why: string): void => {
      this.log?.(level, `Control connection from ${peer} dropped ${why}`);
      this.#refused.add(socket);
      socket.once('close', () => this.#refused.delete(socket));
      socket.destroy();
    };

    if (this.#closing !== undefined || peerBytes === undefined) {
      refuse('verbose', 'because the console is shutting down or the peer is gone');
      return;
    }
    const key = this.key;
    if (key === undefined || key.length !== CONSOLE_KEY_BYTES) {
      refuse('verbose', 'because no valid console key is configured; set one with setKey()');
      return;
    }
    if (!this.acl.match(peerBytes)) {
      refuse('verbose', 'because of the console ACL (see setConsoleACL/addConsoleACL)');
      return;
    }
    if (this.maxConcurrentConnections > 0 && this.#connections.size >= this.maxConcurrentConnections) {
      refuse(
        'error',
        `because the maximum of ${this.maxConcurrentConnections} concurrent console connections is reached (setConsoleMaximumConcurrentConnections)`,
      );
      return;
    }

    if (this.logConnections) this.log?.('warning', `Got control connection from ${peer}`);
    const connection = new ConsoleServerConnection(socket, Uint8Array.from(key), peer, this);
    this.#connections.add(connection);
    void connection.closed.then(() => this.#connections.delete(connection));
  }
}

/** Network-order bytes of a peer, IPv4-mapped IPv6 unmapped so IPv4 ACL entries apply to dual-stack sockets. */
function peerAddressBytes(text: string | undefined): Uint8Array | undefined {
  if (text === undefined) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = kernelPeerBytes(text);
  } catch {
    return undefined;
  }
  return isV4Mapped(bytes) ? bytes.subarray(12) : bytes;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}
