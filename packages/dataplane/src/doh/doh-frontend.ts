import { appendFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2ServerRequest, type Http2ServerResponse, type Http2SecureServer } from 'node:http2';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { constants as cryptoConstants } from 'node:crypto';
import type { SecureContext, SecureContextOptions, TLSSocket } from 'node:tls';
import { parseAddress, parseAddressWithPort, peerAddressBytes } from '@dnsdist-ts/dns';
import { scanResponseTtls, type ResponseTtlScan } from '../cache/response-ttls.js';
import { listenError } from '../io/listen-error.js';
import { listenWithReusePort } from '../io/reuse-port-tcp-listener.js';
import { SocketAddress } from '../query/client-address.js';
import type { ListenerConnectionCount } from '../server/process-wide-counts.js';
import type { QueryProcessor } from '../server/query-processor.js';
import { loadCertificateFiles, pairCertificateFiles } from '../tls/certificate-files.js';
import { TicketKeyRing } from '../tls/ticket-key-ring.js';
import { installTicketKeyCallback } from '../tls/ticket-key-callback.js';
import type { DohFrontendConfig } from './doh-config.js';
import { DohCounters } from './doh-counters.js';
import { DohExchange, type DohResponder, type DohResponse } from './doh-exchange.js';
import { dnsParameter, matchPath, splitTarget } from './doh-paths.js';
import type { DohResponseMapEntry } from './doh-response-map.js';
import { wellFormedQuestion } from './dns-question-check.js';

type DohRequest = IncomingMessage | Http2ServerRequest;

/** The largest POST body read: a DNS message is at most 65,535 bytes. */
const MAX_BODY = 65535;

/** The OPT record a DoH query without one gets (payload 4096), so that UDP can carry large answers. */
const ADDED_OPT = Buffer.from([0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0]);

function unmapped(text: string | undefined): string {
  if (!text) return '0.0.0.0';
  return text.startsWith('::ffff:') && text.includes('.') ? text.slice(7) : text;
}

function peerOf(socket: net.Socket): SocketAddress {
  return new SocketAddress(peerAddressBytes(unmapped(socket.remoteAddress)), socket.remotePort ?? 0);
}

/** A duplex stream over `socket` whose readable side starts with `first` (already read from it). */
function prependedStream(socket: net.Socket, first: Buffer): Duplex {
  const dup = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  dup.push(first);
  socket.on('data', (d: Buffer) => {
    if (!dup.push(d)) socket.pause();
  });
  socket.on('end', () => dup.push(null));
  socket.on('close', () => dup.destroy());
  return dup;
}

/** The right-most X-Forwarded-For entry as an address (with its port, if any), or undefined. */
function forwardedFor(value: string | string[] | undefined): SocketAddress | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const last = text.split(',').pop()?.trim();
  if (!last) return undefined;
  try {
    const a = parseAddress(last);
    return new SocketAddress(a.bytes, 0);
  } catch {
    try {
      const a = parseAddressWithPort(last, 0);
      return new SocketAddress(a.bytes, a.port);
    } catch {
      return undefined;
    }
  }
}

/**
 * One addDOHLocal listener: HTTP/2 and HTTP/1.1 over TLS (ALPN), or over
 * plain TCP behind a reverse proxy when no certificate is given. Requests
 * become DNS queries for the query path; answers become HTTP responses
 * with dnsdist 1.7.3's status codes and texts.
 */
export class DohFrontend implements DohResponder {
  readonly config: DohFrontendConfig;
  readonly counters = new DohCounters();
  /** setResponsesMap(): checked before any DNS processing. */
  responsesMap: readonly DohResponseMapEntry[] = [];
  /** Seconds since the epoch of the next automatic tickets key rotation; 0 when none is planned. */
  nextTicketsKeyRotation = 0;
  /**
   * With data-plane workers: this listener's connections in every worker,
   * which maxConcurrentTCPConnections applies to (set before start).
   */
  sharedConnections: ListenerConnectionCount | undefined;
  /** Told after the tickets keys change: with data-plane workers, the control plane sends them to them (workers/worker-keys.ts). */
  onTicketKeysChange: (() => void) | undefined;
  /**
   * The session ticket keys, newest (active) first, as a DoT listener keeps
   * them: up to numberOfTicketsKeys, all decrypting (empty without TLS or
   * with sessionTickets=false).
   */
  readonly ticketKeys: TicketKeyRing;
  /** A data-plane worker's frontend: the control plane's keys are used and rotated there, not here. */
  #followed = false;
  /** The control plane's copy with workers: it makes and rotates the keys the workers use (ownTicketKeys). */
  #owned = false;
  #local: SocketAddress;
  readonly #processor: QueryProcessor;
  readonly #log: (line: string) => void;
  /** The listening socket: it counts connections before TLS or HTTP sees them, and hands them on (#tls, #h2c, #h1). */
  #server: net.Server | undefined;
  #tls: Http2SecureServer | undefined;
  #h2c: http2.Http2Server | undefined;
  #h1: http.Server | undefined;
  #ocsp: Map<string, Buffer> = new Map();
  readonly #ttlScan: ResponseTtlScan = { minTtl: -1, soaInAuthority: false };
  readonly #sockets = new Set<net.Socket>();
  /** Client addresses of plain HTTP/2 sessions (their socket is a stream wrapper without one). */
  readonly #h2cPeers = new WeakMap<http2.Http2Session, SocketAddress>();
  #pendingPeer: SocketAddress | undefined;

  constructor(config: DohFrontendConfig, processor: QueryProcessor, log: (line: string) => void) {
    this.config = config;
    this.#processor = processor;
    this.#log = log;
    this.#local = new SocketAddress(parseAddress(config.host).bytes, config.port);
    const t = config.tls;
    this.ticketKeys = new TicketKeyRing(config.certFiles.length > 0 && t.sessionTickets ? Math.max(0, t.numberOfTicketsKeys) : 0);
    if (this.ticketKeys.capacity > 0) {
      if (t.ticketKeyFile !== undefined) this.ticketKeys.loadFile(t.ticketKeyFile);
      else this.ticketKeys.rotate();
    }
    this.ticketKeys.onChange = () => this.onTicketKeysChange?.();
  }

  get overTls(): boolean {
    return this.config.certFiles.length > 0;
  }

  /** The listening address (with the port the kernel chose when 0 was asked for). */
  get local(): SocketAddress {
    return this.#local;
  }

  /**
   * The control plane's copy of a frontend data-plane workers serve: it
   * binds nothing and shows the port the workers bound (port 0 made real).
   */
  boundElsewhere(port: number): void {
    this.#local = new SocketAddress(this.#local.bytes, port);
  }

  /** dnsdist's protocol name for this frontend's listener (showBinds, metrics). */
  get protocolName(): string {
    return this.overTls ? 'TCP (DNS over HTTPS)' : 'TCP (DNS over HTTP)';
  }

  /** The TLS context options from the configured files; throws naming the file at fault. */
  #secureContextOptions(): SecureContextOptions {
    const t = this.config.tls;
    const pairs = loadCertificateFiles(pairCertificateFiles(this.config.certFiles, this.config.keyFiles), t.ocspResponseFiles);
    this.#ocsp = new Map(pairs.ocsp.map((r, i) => [pairs.leafDer[i]?.toString('base64') ?? '', r]));
    let secureOptions = 0;
    if (this.ticketKeys.capacity === 0) secureOptions |= cryptoConstants.SSL_OP_NO_TICKET;
    if (!t.enableRenegotiation) secureOptions |= cryptoConstants.SSL_OP_NO_RENEGOTIATION;
    const ciphers = [t.ciphers, t.ciphersTLS13].filter((c) => c !== undefined).join(':');
    const opts: SecureContextOptions = {
      cert: pairs.certs,
      key: pairs.keys,
      minVersion: t.minVersion,
      honorCipherOrder: t.preferServerCiphers,
      sessionTimeout: t.sessionTimeout,
      secureOptions,
    };
    if (ciphers !== '') opts.ciphers = ciphers;
    return opts;
  }

  /**
   * The HTTP/2 server keeps one ticket key of its own; the ring's callback on
   * the context it built (again after each setSecureContext) lets every
   * key in the ring decrypt, as on a DoT listener.
   */
  #installTicketKeys(server: Http2SecureServer): void {
    if (this.ticketKeys.capacity === 0) return;
    const creds = (server as unknown as { _sharedCreds?: SecureContext })._sharedCreds;
    if (creds === undefined)
      throw new Error('this Node.js HTTP/2 server has no TLS context to install the ticket keys on: run with sessionTickets=false');
    installTicketKeyCallback(creds, this.ticketKeys);
  }

  /** Bind and start serving. */
  async start(): Promise<void> {
    const max = this.config.maxConcurrentTCPConnections;
    // With workers the limit is the listener's over all of them; alone, Node refuses past it before 'connection'.
    const shared = max > 0 ? this.sharedConnections : undefined;
    let handOn: (socket: net.Socket) => void;
    if (this.overTls) {
      const tls = this.#makeTlsServer();
      this.#tls = tls;
      // A TLS server takes connections emitted to it as its own: the handshake starts only once the limit let one in.
      handOn = (socket) => tls.emit('connection', socket);
    } else {
      handOn = this.#plainHandler();
    }
    const server = net.createServer((socket) => {
      // As dnsdist's, a refused connection is closed at accept and counted nowhere (not even in httpConnects).
      if (shared && !shared.acquire(max)) return void socket.destroy();
      // Answers are small and go out at once: Nagle would hold each one for the client's delayed ACK.
      socket.setNoDelay(true);
      const c = this.counters;
      c.httpConnects++;
      c.currentConnections++;
      // dnsdist's most-at-once is the listener's: with workers, the total they hold (the control plane keeps the largest any saw).
      const open = shared ? shared.open : c.currentConnections;
      if (open > c.maxConcurrentConnections) c.maxConcurrentConnections = open;
      this.#sockets.add(socket);
      socket.once('close', () => {
        c.currentConnections--;
        shared?.release();
        this.#sockets.delete(socket);
      });
      handOn(socket);
    });
    this.#server = server;
    if (max > 0 && !shared) server.maxConnections = max;
    const { host, port, tcpListenQueueSize: backlog, tcpFastOpenQueueSize: fastOpenQueueSize } = this.config;
    // Node cannot set TCP_FASTOPEN or SO_REUSEPORT (data-plane workers): with either, the listener is made natively and handed over by fd.
    const reusePort = this.config.reusePort;
    await (
      fastOpenQueueSize > 0 || reusePort
        ? listenWithReusePort(server, { host, port, backlog, reusePort, fastOpenQueueSize })
        : new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen({ host, port, backlog }, () => {
              server.off('error', reject);
              resolve();
            });
          })
    ).catch((err: unknown) => {
      throw listenError(err, this.config.requestedBy, this.config.host, this.config.port, 'tcp');
    });
    const addr = server.address();
    if (addr && typeof addr === 'object') this.#local = new SocketAddress(this.#local.bytes, addr.port);
    if (this.overTls) this.#scheduleRotation();
  }

  #makeTlsServer(): Http2SecureServer {
    const t = this.config.tls;
    const server = http2.createSecureServer({
      ...this.#secureContextOptions(),
      allowHTTP1: true,
      settings: { maxConcurrentStreams: 100 },
    });
    this.#installTicketKeys(server);
    server.on('request', (req: DohRequest, res: DohResponse) => this.#onRequest(req, res));
    server.on('tlsClientError', () => this.counters.tlsHandshakeFailures++);
    server.setTimeout(this.config.idleTimeoutSeconds * 1000);
    server.on('timeout', (s: { destroy?: () => void }) => s.destroy?.());
    if (this.#ocsp.size > 0) {
      server.on('OCSPRequest', (cert: Buffer, _issuer: Buffer, cb: (err: Error | null, resp?: Buffer) => void) => {
        cb(null, this.#ocsp.get(cert.toString('base64')));
      });
    }
    if (t.keyLogFile !== undefined) {
      const file = t.keyLogFile;
      server.on('keylog', (line: Buffer) => {
        try {
          appendFileSync(file, line);
        } catch (err) {
          this.#log(`DoH frontend ${this.#local.toStringWithPort()}: could not write the TLS key log '${file}': ${(err as Error).message}`);
        }
      });
    }
    return server;
  }

  /**
   * DNS over plain HTTP: each connection goes to an HTTP/2 server when it
   * opens with the HTTP/2 preface (prior knowledge, as reverse proxies
   * speak it) and to an HTTP/1.1 server otherwise.
   */
  #plainHandler(): (socket: net.Socket) => void {
    const onRequest = (req: DohRequest, res: DohResponse): void => this.#onRequest(req, res);
    const h2c = http2.createServer({ settings: { maxConcurrentStreams: 100 } }, onRequest);
    h2c.setTimeout(this.config.idleTimeoutSeconds * 1000);
    h2c.on('timeout', (s: { destroy?: () => void }) => s.destroy?.());
    const h1 = http.createServer(onRequest);
    h1.keepAliveTimeout = this.config.idleTimeoutSeconds * 1000;
    h2c.on('session', (session: http2.Http2Session) => {
      if (this.#pendingPeer) this.#h2cPeers.set(session, this.#pendingPeer);
    });
    this.#h2c = h2c;
    this.#h1 = h1;
    return (socket) => {
      socket.on('error', () => socket.destroy());
      socket.once('data', (first: Buffer) => {
        socket.pause();
        if (first.subarray(0, 3).toString('latin1') !== 'PRI') {
          // Node's HTTP/1 server reads what was put back before it reads the socket itself.
          socket.unshift(first);
          h1.emit('connection', socket);
          socket.resume();
          return;
        }
        // Node's HTTP/2 server reads the socket's handle directly and would miss the first bytes:
        // it gets a stream that starts with them instead.
        this.#pendingPeer = peerOf(socket);
        h2c.emit('connection', prependedStream(socket, first));
        this.#pendingPeer = undefined;
      });
    };
  }

  #scheduleRotation(): void {
    const delay = this.config.tls.ticketsKeysRotationDelay;
    this.nextTicketsKeyRotation = delay > 0 ? Math.floor(Date.now() / 1000) + delay : 0;
  }

  /**
   * Called once a second: when the rotation is due, a new random tickets key,
   * or the ticketKeyFile read again, as a DoT listener does. A key file that
   * cannot be read is logged and tried again at the next tick, the keys held kept.
   */
  tick(nowSeconds: number): void {
    if (this.#followed) return;
    if (this.nextTicketsKeyRotation === 0 || nowSeconds < this.nextTicketsKeyRotation || this.ticketKeys.capacity === 0) return;
    try {
      this.ticketKeys.rotateOrReload(this.config.tls.ticketKeyFile);
      this.#scheduleRotation();
    } catch (err) {
      this.#log(`Error rotating the TLS ticket keys of DoH frontend ${this.#local.toStringWithPort()}: ${(err as Error).message}`);
    }
  }

  /** rotateTicketsKey(): a new random key encrypts tickets from now on; older ones still decrypt until pushed out. */
  rotateTicketsKey(): void {
    if (this.ticketKeys.capacity === 0) return;
    this.ticketKeys.rotate();
    this.#scheduleRotation();
  }

  /** loadTicketsKeys(file): the keys of a dnsdist ticket key file are added, its last one active. */
  loadTicketsKeys(file: string): void {
    if (this.ticketKeys.capacity === 0) return;
    this.ticketKeys.loadFile(file);
    this.#scheduleRotation();
  }

  /** The control plane's copy owns the tickets keys the workers use, rotated on time here. */
  ownTicketKeys(): void {
    if (this.ticketKeys.capacity === 0 || this.#owned) return;
    this.#owned = true;
    this.#scheduleRotation();
  }

  /** The tickets keys the workers are given (TicketKeyRing.export's form, newest first), if this frontend owns them. */
  get ownedTicketKeys(): Buffer[] | undefined {
    return this.#owned ? this.ticketKeys.export() : undefined;
  }

  /** A data-plane worker: use the control plane's tickets keys and never rotate them here. */
  followTicketKeys(keys: readonly Uint8Array[]): void {
    this.#followed = true;
    this.nextTicketsKeyRotation = 0;
    this.ticketKeys.replace(keys);
  }

  /** Tickets keys held now. */
  get ticketsKeysCount(): number {
    return this.ticketKeys.size;
  }

  /** reloadCertificates(): read the certificate and key files again; new connections use them. */
  reloadCertificates(): void {
    if (!this.overTls) return;
    // Read even when not listening (the control plane's copy with workers): a bad file fails there as in the workers.
    const options = this.#secureContextOptions();
    const server = this.#tls;
    if (server) {
      server.setSecureContext(options);
      this.#installTicketKeys(server);
    }
  }

  /** loadNewCertificatesAndKeys(certs, keys): serve these files from now on. */
  loadNewCertificatesAndKeys(certFiles: string[], keyFiles: string[]): void {
    if (!this.overTls) throw new Error('loadNewCertificatesAndKeys: this DoH frontend has no TLS (it was created without a certificate)');
    // Checked before anything changes: a bad file leaves the frontend as it was.
    loadCertificateFiles(pairCertificateFiles(certFiles, keyFiles));
    const before = { certFiles: this.config.certFiles, keyFiles: this.config.keyFiles };
    this.config.certFiles = certFiles;
    this.config.keyFiles = keyFiles;
    try {
      this.reloadCertificates();
    } catch (err) {
      this.config.certFiles = before.certFiles;
      this.config.keyFiles = before.keyFiles;
      throw err;
    }
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    this.#server = undefined;
    for (const sock of this.#sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    this.#tls?.close();
    this.#h2c?.close();
    this.#h1?.close();
  }

  // ---- requests ---------------------------------------------------------

  /** A request that breaks something here gets a 500 and a log line; the listener goes on. */
  #onRequest(req: DohRequest, res: DohResponse): void {
    try {
      this.#handleRequest(req, res);
    } catch (err) {
      this.#log(
        `DoH frontend ${this.#local.toStringWithPort()}: error handling ${req.method ?? '?'} ${req.url ?? '?'}: ${(err as Error).message}`,
      );
      try {
        if (!res.headersSent) {
          (res as ServerResponse).writeHead(500, { 'content-type': 'text/plain; charset=utf-8', server: this.config.serverTokens });
          res.end('Internal Server Error');
        }
      } catch {
        // the client is gone
      }
    }
  }

  #handleRequest(req: DohRequest, res: DohResponse): void {
    const version: 1 | 2 = req.httpVersionMajor >= 2 ? 2 : 1;
    const target = splitTarget(req.url ?? '/');
    const host = (version === 2 ? (req as Http2ServerRequest).authority : req.headers.host) ?? '';
    const ex = new DohExchange(this, res, target, host, this.overTls, version, req.headers);
    res.on('close', () => (ex.done = true));
    const c = this.counters;

    const route = matchPath(this.config.urls, target.path, this.config.exactPathMatching);
    if (route === 'not-found') return this.#plain(ex, 404, 'not found');

    const socket = req.socket;
    let remote =
      (version === 2 && !this.overTls ? this.#h2cPeers.get((req as Http2ServerRequest).stream.session!) : undefined) ?? peerOf(socket);
    if (this.config.trustForwardedForHeader) remote = forwardedFor(req.headers['x-forwarded-for']) ?? remote;
    if (!this.#processor.aclAllows(remote.bytes)) return this.#plain(ex, 403, 'dns query not allowed because of ACL');

    if (this.overTls) {
      const tls = socket as TLSSocket;
      if (tls.isSessionReused()) c.tlsResumptions++;
      else c.tlsNewSessions++;
      c.countTlsVersion(tls.getProtocol());
    }

    if (route === 'no-endpoint') return this.#plain(ex, 404, 'there is no endpoint configured for this path');

    for (const entry of this.responsesMap) {
      if (entry.matches(target.path)) {
        return this.#send(ex, entry.status, entry.content, undefined, entry.headers ?? this.config.customResponseHeaders, false);
      }
    }

    const versionCounters = version === 2 ? c.http2 : c.http1;
    if (req.method === 'POST') {
      c.postQueries++;
      versionCounters.queries++;
      this.#readBody(req, ex, remote);
      return;
    }
    // As dnsdist: every method but POST is read as a GET (its query string carries the message).
    const param = dnsParameter(target.queryString);
    if (param.ok) {
      c.getQueries++;
      versionCounters.queries++;
      return this.#dispatch(ex, param.message, remote);
    }
    c.badRequests++;
    this.#plain(ex, 400, param.reason);
  }

  #readBody(req: DohRequest, ex: DohExchange, remote: SocketAddress): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        if (!ex.done) this.#plain(ex, 413, 'the DNS message is larger than 65535 bytes');
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY || ex.done) return;
      this.#dispatch(ex, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), remote);
    });
    req.on('error', () => (ex.done = true));
  }

  /** Hand a DNS message to the query path, with an OPT record added when it has none (as dnsdist). */
  #dispatch(ex: DohExchange, message: Buffer, remote: SocketAddress): void {
    if (!wellFormedQuestion(message)) return this.#plain(ex, 400, 'The DNS query could not be parsed');
    let packet = message;
    let ednsAdded = false;
    if (message[10] === 0 && message[11] === 0) {
      packet = Buffer.allocUnsafe(message.length + ADDED_OPT.length);
      message.copy(packet, 0);
      ADDED_OPT.copy(packet, message.length);
      packet[11] = 1;
      ednsAdded = true;
    }
    if ((packet[2]! & 0x80) !== 0) ex.refusal = { status: 400, text: 'invalid DNS query' };
    this.#processor.handleQuery(packet, packet.length, remote, this.#local, 'udp', ex, this.counters, undefined, ex, ednsAdded);
  }

  // ---- responses ----------------------------------------------------------

  answer(ex: DohExchange, data: Buffer, length: number): void {
    this.counters.responses++;
    const custom = ex.httpResponse;
    if (custom !== undefined) {
      return this.#send(ex, custom.status, custom.body, custom.contentType, this.config.customResponseHeaders, custom.status === 200);
    }
    const body = Buffer.from(data.subarray(0, length));
    this.#send(ex, 200, body, undefined, this.config.customResponseHeaders, true, this.config.sendCacheControlHeaders);
  }

  fail(ex: DohExchange, status: number, text: string): void {
    this.counters.errorResponses++;
    this.#plain(ex, status, text);
  }

  /** An error the frontend makes itself: text body, no custom headers. */
  #plain(ex: DohExchange, status: number, text: string): void {
    this.#write(ex, status, { 'content-type': 'text/plain; charset=utf-8' }, Buffer.from(text));
  }

  /**
   * A response through dnsdist's handleResponse: the custom headers, then
   * by status a DNS answer (200), a redirect to the body's URL (3xx), or
   * the body as text.
   */
  #send(
    ex: DohExchange,
    status: number,
    body: Buffer,
    contentType: string | undefined,
    customHeaders: ReadonlyArray<readonly [string, string]>,
    addContentType: boolean,
    cacheControl = false,
  ): void {
    const c = this.counters;
    if (status >= 300 && status < 400) {
      // A redirect is made as dnsdist's HTTP library makes it: its own short page, no custom headers.
      c.redirectResponses++;
      const url = body.toString('latin1');
      const page = `<!DOCTYPE html><TITLE>Moved</TITLE><P>The document has moved <A HREF="${escapeHtml(url)}">here</A>`;
      return this.#write(ex, status, { location: url, 'content-type': 'text/html; charset=utf-8' }, Buffer.from(page));
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of customHeaders) headers[k] = v;
    if (status === 200) {
      c.validResponses++;
      if (addContentType)
        headers['content-type'] = contentType !== undefined && contentType !== '' ? contentType : 'application/dns-message';
      if (cacheControl) {
        const min = scanResponseTtls(body, body.length, this.#ttlScan).minTtl;
        if (min >= 0) headers['cache-control'] = `max-age=${min}`;
      }
      return this.#write(ex, status, headers, body);
    }
    c.errorResponses++;
    headers['content-type'] = 'text/plain; charset=utf-8';
    this.#write(ex, status, headers, body.length > 0 ? body : Buffer.from(defaultText(status)));
  }

  #write(ex: DohExchange, status: number, headers: Record<string, string>, body: Buffer): void {
    // Counted when sent, as dnsdist counts them: a client that went away gets nothing and counts nothing.
    if (ex.done) return;
    ex.done = true;
    (ex.httpVersion === 2 ? this.counters.http2 : this.counters.http1).count(status);
    headers.server = this.config.serverTokens;
    headers['content-length'] = String(body.length);
    try {
      if (ex.httpVersion === 2) {
        // Straight on the stream: through the compatibility response, Node sends the answer's DATA
        // frame first and ends the stream in a frame (and TLS record) of its own, which clients such
        // as dnsperf wait on; this way one frame carries both, as with dnsdist.
        const stream = (ex.res as Http2ServerResponse).stream;
        stream.respond({ ':status': status, ...headers });
        stream.end(body);
        return;
      }
      const res = ex.res as ServerResponse;
      res.writeHead(status, headers);
      res.end(body);
    } catch (err) {
      this.#log(`DoH frontend ${this.#local.toStringWithPort()}: could not send a response: ${(err as Error).message}`);
    }
  }
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function defaultText(status: number): string {
  switch (status) {
    case 400:
      return 'invalid DNS query';
    case 403:
      return 'dns query not allowed';
    case 502:
      return 'no downstream server available';
    default:
      return 'Internal Server Error';
  }
}

export type { Http2ServerResponse };
