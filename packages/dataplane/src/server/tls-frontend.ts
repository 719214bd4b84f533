import { EventEmitter } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import type { ClientSession } from '../query/client-session.js';
import { CELLS, CellSet, type CellStore } from '../stats/counter-cells.js';
import { peekClientHelloSni } from '../tls/client-hello-sni.js';
import type { TlsServerContext } from '../tls/tls-server-context.js';
import type { FrontendConfig } from './frontend-config.js';
import type { StreamUpgrade } from './tcp-frontend.js';

/** One `addTLSLocal` listener as configured: the TCP listener settings and its TLS context. */
export interface TlsFrontendConfig extends FrontendConfig {
  readonly tls: TlsServerContext;
}

/** dnsdist's TLS handshake failure kinds, in the order its metrics and API list them. */
export const TLS_HANDSHAKE_FAILURES = [
  'dhKeyTooSmall',
  'inappropriateFallBack',
  'noSharedCipher',
  'unknownCipherType',
  'unknownKeyExchangeType',
  'unknownProtocol',
  'unsupportedEC',
  'unsupportedProtocol',
] as const;
export type TlsHandshakeFailure = (typeof TLS_HANDSHAKE_FAILURES)[number];

/** OpenSSL reasons (as Node names them) behind each failure kind; anything else is not counted, as in dnsdist. */
const FAILURE_BY_CODE: Readonly<Record<string, TlsHandshakeFailure>> = {
  ERR_SSL_DH_KEY_TOO_SMALL: 'dhKeyTooSmall',
  ERR_SSL_INAPPROPRIATE_FALLBACK: 'inappropriateFallBack',
  ERR_SSL_NO_SHARED_CIPHER: 'noSharedCipher',
  ERR_SSL_UNKNOWN_CIPHER_TYPE: 'unknownCipherType',
  ERR_SSL_UNKNOWN_KEY_EXCHANGE_TYPE: 'unknownKeyExchangeType',
  ERR_SSL_UNKNOWN_PROTOCOL: 'unknownProtocol',
  ERR_SSL_UNSUPPORTED_ELLIPTIC_CURVE: 'unsupportedEC',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'unsupportedProtocol',
};

/** Query counters by TLS version: dnsdist's tls10/tls11/tls12/tls13/unknown. */
export const TLS_VERSION_LABELS = ['tls10', 'tls11', 'tls12', 'tls13', 'unknown'] as const;

function versionIndex(protocol: string | null): number {
  switch (protocol) {
    case 'TLSv1':
      return 0;
    case 'TLSv1.1':
      return 1;
    case 'TLSv1.2':
      return 2;
    case 'TLSv1.3':
      return 3;
    default:
      return 4;
  }
}

/** The session of one DoT connection. */
class TlsClientSession implements ClientSession {
  readonly protocolName = 'DNS over TLS';
  constructor(
    readonly serverName: string,
    /** Index into TLS_VERSION_LABELS. */
    readonly version: number,
  ) {}
}

/** Cell names of the queries by TLS version (TLS_VERSION_LABELS order) and of the handshake failures (TLS_HANDSHAKE_FAILURES order). */
const VERSION_CELLS = TLS_VERSION_LABELS.map((label) => `${label}Queries`);
const FAILURE_CELLS = TLS_HANDSHAKE_FAILURES.map((kind) => `handshakeFailure.${kind}`);

/** The TLS counters of a DoT listener, in cells (shared live with data-plane workers: counter-cells.ts): versions first, failures last. */
const TLS_CELLS = new CellSet(
  Object.fromEntries([...VERSION_CELLS, 'newSessions', 'resumptions', ...FAILURE_CELLS].map((key) => [key, 'counter' as const])),
);
const FIRST_FAILURE_CELL = VERSION_CELLS.length + 2;

/** dnsdist's per-frontend TLS counters (tls*-queries, sessions, handshake failures). */
export class TlsFrontendCounters {
  declare newSessions: number;
  declare resumptions: number;

  constructor() {
    TLS_CELLS.install(this);
  }

  /** Queries by TLS version, indexed like TLS_VERSION_LABELS (a fresh array: for readers). */
  get queriesByVersion(): readonly number[] {
    const cells = this as unknown as Record<string, number>;
    return VERSION_CELLS.map((key) => cells[key]!);
  }

  /** Handshake failures by kind, in TLS_HANDSHAKE_FAILURES order (a fresh map: for readers). */
  get handshakeFailures(): ReadonlyMap<TlsHandshakeFailure, number> {
    const cells = this as unknown as Record<string, number>;
    return new Map(TLS_HANDSHAKE_FAILURES.map((kind, i) => [kind, cells[FAILURE_CELLS[i]!]!]));
  }

  /** A query read on a connection of TLS version `version` (a TLS_VERSION_LABELS index: its cell's). */
  countQuery(version: number): void {
    (this as unknown as { [CELLS]: CellStore })[CELLS][version]!++;
  }

  countHandshakeFailure(kind: TlsHandshakeFailure): void {
    (this as unknown as { [CELLS]: CellStore })[CELLS][FIRST_FAILURE_CELL + TLS_HANDSHAKE_FAILURES.indexOf(kind)]!++;
  }
}

/**
 * The TLS side of a DoT listener: wraps each accepted connection (the ACL
 * and limits already passed) in a server TLSSocket on the context's current
 * certificates, counts what dnsdist counts, staples OCSP responses, and hands
 * the decrypted stream to the TCP query path.
 */
export class TlsStreamUpgrade implements StreamUpgrade {
  readonly counters = new TlsFrontendCounters();
  readonly context: TlsServerContext;
  readonly #handshakeTimeoutMs: number;
  /**
   * What Node's TLSSocket consults as its "server" for OCSP stapling: it
   * emits OCSPRequest there and reads the context of a connection without SNI
   * from `_sharedCreds`.
   */
  readonly #ocspServer: EventEmitter & { _sharedCreds?: tls.SecureContext };
  #keyLog: WriteStream | undefined;

  /** @param keyLog false for the control plane's copy of a listener data-plane workers serve (it opens no file). */
  constructor(context: TlsServerContext, handshakeTimeoutSeconds: number, keyLog = true) {
    this.context = context;
    this.#handshakeTimeoutMs = handshakeTimeoutSeconds * 1000;
    this.#ocspServer = new EventEmitter();
    this.#ocspServer.on('OCSPRequest', (cert: Buffer, _issuer: Buffer, done: (err: Error | null, resp?: Buffer) => void) => {
      done(null, this.context.ocspResponseFor(cert));
    });
    const keyLogFile = context.settings.keyLogFile;
    if (keyLog && keyLogFile !== '') this.#keyLog = createWriteStream(keyLogFile, { flags: 'a' });
  }

  upgrade(socket: net.Socket, ready: (stream: net.Socket, session: ClientSession) => void, track: (stream: net.Socket) => void): void {
    // The ClientHello is read first for its SNI (see peekClientHelloSni), then handed to TLS.
    let hello: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), this.#handshakeTimeoutMs);
    const onData = (chunk: Buffer): void => {
      hello = hello.length === 0 ? chunk : Buffer.concat([hello, chunk]);
      const peek = peekClientHelloSni(hello);
      if (!peek.complete) return;
      socket.off('data', onData);
      socket.pause();
      socket.unshift(hello);
      clearTimeout(timer);
      this.#startTls(socket, peek.serverName, ready, track);
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => clearTimeout(timer));
  }

  #startTls(
    socket: net.Socket,
    serverName: string,
    ready: (stream: net.Socket, session: ClientSession) => void,
    track: (stream: net.Socket) => void,
  ): void {
    const secureContext = this.context.secureContext;
    // Only a context with OCSP responses to staple gets the "server" Node asks for them: with it
    // Node pauses every handshake for a certificate callback into JavaScript, even when the client
    // asks for no OCSP status, which costs each new connection for nothing when there is none.
    const stapling = this.context.hasOcspResponses;
    if (stapling) this.#ocspServer._sharedCreds = secureContext;
    // What the raw socket has buffered (the ClientHello) goes to TLS first.
    const stream = new tls.TLSSocket(
      socket,
      stapling ? { isServer: true, secureContext, server: this.#ocspServer as unknown as net.Server } : { isServer: true, secureContext },
    );
    track(stream);
    let secured = false;
    stream.setTimeout(this.#handshakeTimeoutMs);
    const onTimeout = (): void => {
      if (!secured) stream.destroy();
    };
    stream.on('timeout', onTimeout);
    // Node reports TLS errors of a socket no tls.Server owns as '_tlsError' (and 'error' only once
    // control is "released" to a user): both end the connection.
    stream.on('_tlsError', (err: NodeJS.ErrnoException) => {
      if (!secured) {
        const kind = err.code !== undefined ? FAILURE_BY_CODE[err.code] : undefined;
        if (kind !== undefined) this.counters.countHandshakeFailure(kind);
      }
      stream.destroy();
    });
    stream.on('error', () => stream.destroy());
    if (this.#keyLog) {
      const log = this.#keyLog;
      stream.on('keylog', (line: Buffer) => log.write(line));
    }
    stream.once('secure', () => {
      secured = true;
      stream.off('timeout', onTimeout);
      if (stream.isSessionReused()) this.counters.resumptions++;
      else this.counters.newSessions++;
      ready(stream, new TlsClientSession(serverName, versionIndex(stream.getProtocol())));
    });
  }

  queryRead(session: ClientSession): void {
    this.counters.countQuery((session as TlsClientSession).version);
  }

  close(): void {
    this.#keyLog?.end();
  }
}
