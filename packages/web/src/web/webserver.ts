/**
 * dnsdist's built-in webserver on node:http: one request per connection
 * (every response says `Connection: close`), connections from outside the
 * ACL or over the concurrency limit closed at once, then per request:
 * CORS pre-flight, authorization (401), method (405), route (404), all
 * decided from the headers before a byte of the body is read; then the
 * route's body bound (413) and the body deadline (408); then the handler
 * (500 when it throws). The response carries the configured custom headers
 * and dnsdist's security headers (a custom header of the same name, even
 * empty, replaces one).
 *
 * Nothing a client sends, and nothing a handler throws, may reach the
 * process: every request path ends in an answer or a closed connection,
 * logged with the peer address read once at accept (a socket that went
 * away has no address left to read).
 */
import http from 'node:http';
import type net from 'node:net';
import { formatAddress, formatAddressWithPort, peerAddressBytes, type IpAddressWithPort } from '@dnsdist-ts/dns';
import type { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import { isAuthorized } from './web-authorization.js';
import { writeResponseBody } from './response-body-writer.js';
import { readRequestBody } from './web-body-reader.js';
import type { WebHandler, WebRequest, WebResponse } from './web-exchange.js';
import type { WebserverClosures } from './webserver-closures.js';
import type { WebserverConfig } from './webserver-config.js';
import { NODE_HEADERS_TIMEOUT_MS, NODE_REQUEST_TIMEOUT_MS, UNREAD_BODY_LINGER_MS } from './webserver-limits.js';

/** dnsdist's security headers, sent unless a custom header of the same name is configured. */
export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'deny'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '1; mode=block'],
  ['Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'"],
];

/** One path the webserver serves. */
export interface WebRoute {
  readonly handler: WebHandler;
  /** Answer CORS requests for it (dnsdist does for its JSON endpoints, not for files or custom handlers). */
  readonly cors: boolean;
  /** The largest body (bytes) a GET to it may carry; over it, 413 before the handler runs (webserver-limits.ts). */
  readonly maxBodyBytes: number;
  /**
   * Methods besides GET it accepts, only when the API is writable
   * (setAPIWritable), each with the largest body it may carry.
   */
  readonly writableMethods?: Readonly<Record<string, number>>;
}

/** Where routes come from (built-ins plus registerWebHandler's, which may replace them). */
export interface WebRouteTable {
  get(path: string): WebRoute | undefined;
}

export interface WebserverOptions {
  readonly config: WebserverConfig;
  readonly routes: WebRouteTable;
  readonly log: Logger;
  /** Where connections ended without a normal answer are counted. */
  readonly closures: WebserverClosures;
}

/** The address a socket's peer has, IPv4-mapped IPv6 unmapped (as the ACL matches it). */
function peerAddress(socket: net.Socket): { bytes: Uint8Array; text: string } | undefined {
  const raw = socket.remoteAddress;
  if (!raw) return undefined;
  const text = raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw;
  try {
    const bytes = peerAddressBytes(text);
    return { bytes, text: text.includes(':') ? `[${text}]:${socket.remotePort}` : `${text}:${socket.remotePort}` };
  } catch {
    return undefined;
  }
}

function parseQuery(search: URLSearchParams): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of search) out.set(k, v);
  // jQuery's cache buster, which dnsdist drops too.
  out.delete('_');
  return out;
}

/** The default response headers: custom ones (non-empty) and the security ones they do not replace. */
export function defaultHeaders(config: WebserverConfig): Record<string, string> {
  const out: Record<string, string> = {};
  const custom = config.customHeaders;
  const customNames = new Set([...(custom?.keys() ?? [])].map((k) => k.toLowerCase()));
  for (const [k, v] of custom ?? []) if (v !== '') out[k] = v;
  for (const [k, v] of SECURITY_HEADERS) if (!customNames.has(k.toLowerCase())) out[k] = v;
  return out;
}

function isStatsOrLocalhost(path: string): boolean {
  return path === '/jsonstat' || path === '/metrics' || path === '/api/v1/servers/localhost';
}

/** Access-Control-* headers for a request with an Origin (dnsdist's handleCORS). */
function addCors(req: Pick<WebRequest, 'method' | 'path' | 'headers'>, headers: Record<string, string>, config: WebserverConfig): void {
  const origin = req.headers['origin'];
  if (origin === undefined) return;
  if (req.method === 'OPTIONS') {
    headers['Access-Control-Allow-Methods'] = config.apiWritable ? 'GET, PUT' : 'GET';
    headers['Access-Control-Allow-Headers'] = 'Authorization, X-API-Key';
  }
  headers['Access-Control-Allow-Origin'] = origin;
  if (isStatsOrLocalhost(req.path)) headers['Access-Control-Allow-Credentials'] = 'true';
}

/** A thrown value as log text, whatever was thrown. */
function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return 'an unprintable value';
  }
}

/** Listeners for errors a request or response emits after its client vanished: the paths that read and answer handle those. */
function ignore(): void {}

/** Does the request announce a body (a length over 0, or chunked)? */
function announcesBody(req: http.IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** One accepted connection: its peer, read once at accept, and its header deadline. */
interface WebConnection {
  readonly peer: string;
  readonly headerTimer: NodeJS.Timeout;
  /** A request's headers arrived: the header deadline no longer applies. */
  requestSeen: boolean;
}

/** One request being served, with what was captured when its headers arrived. */
interface Exchange {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly socket: net.Socket;
  readonly peer: string;
  /** performance.now() when the headers were complete (the body deadline counts from here). */
  readonly headersAt: number;
  readonly expectsContinue: boolean;
  /** The request path, for logs ("?" until it is parsed). */
  path: string;
}

export class Webserver {
  readonly #server: http.Server;
  readonly #options: WebserverOptions;
  /** The bound address ("127.0.0.1:8083"), with the real port when 0 was asked for. */
  readonly address: string;
  readonly port: number;
  readonly #connections = new Map<net.Socket, WebConnection>();

  private constructor(server: http.Server, options: WebserverOptions, address: string, port: number) {
    this.#server = server;
    this.#options = options;
    this.address = address;
    this.port = port;
  }

  /**
   * Bind and serve.
   *
   * @throws the listen error (EADDRINUSE, EACCES…) when the address cannot be bound.
   */
  static listen(address: IpAddressWithPort, options: WebserverOptions): Promise<Webserver> {
    const server = http.createServer({
      keepAlive: false,
      requestTimeout: NODE_REQUEST_TIMEOUT_MS,
      headersTimeout: NODE_HEADERS_TIMEOUT_MS,
    });
    const host = formatAddress(address.bytes);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: address.port, exclusive: true }, () => {
        server.off('error', reject);
        const bound = server.address() as net.AddressInfo;
        const ws = new Webserver(server, options, formatAddressWithPort({ ...address, port: bound.port }), bound.port);
        server.on('connection', (socket: net.Socket) => ws.#accept(socket));
        server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => ws.#dispatch(req, res, false));
        // Expect: 100-continue: the client waits for the go-ahead, which only an authorized request within its bound gets.
        server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => ws.#dispatch(req, res, true));
        server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => ws.#clientError(err, socket));
        server.on('error', (err) => options.log.error(`Webserver on ${ws.address} failed: ${err.message}`));
        resolve(ws);
      });
    });
  }

  /** Connections currently open. */
  get connections(): number {
    return this.#connections.size;
  }

  #accept(socket: net.Socket): void {
    const { config, log, closures } = this.#options;
    const peer = peerAddress(socket);
    if (!peer || !config.acl.match(peer.bytes)) {
      closures.count('not_allowed');
      log.debug(`Connection to webserver from client ${peer?.text ?? socket.remoteAddress} is not allowed, closing`);
      socket.destroy();
      return;
    }
    if (this.#connections.size >= config.maxConcurrentConnections) {
      closures.count('connection_limit');
      log.error('Had an error accepting new webserver connection: Too many concurrent web client connections');
      socket.destroy();
      return;
    }
    const deadline = config.headerDeadlineMs;
    const conn: WebConnection = {
      peer: peer.text,
      requestSeen: false,
      headerTimer: setTimeout(() => this.#headersTooSlow(socket, conn, deadline), deadline),
    };
    this.#connections.set(socket, conn);
    socket.once('close', () => {
      clearTimeout(conn.headerTimer);
      this.#connections.delete(socket);
    });
    log.debug(`Got a connection to the webserver from ${peer.text}`);
  }

  /** The header deadline passed: answer 408 if the socket still takes it, and close, freeing the slot. */
  #headersTooSlow(socket: net.Socket, conn: WebConnection, deadline: number): void {
    if (conn.requestSeen || socket.destroyed) return;
    this.#options.closures.count('header_timeout');
    this.#options.log.info(`Webserver connection from ${conn.peer} closed: no complete request headers within ${deadline} ms`);
    try {
      if (socket.writable) socket.write('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    } finally {
      socket.destroy();
    }
  }

  /** Errors node's parser or the socket raise: malformed requests (headers or chunk framing), resets, node's own deadlines. */
  #clientError(err: NodeJS.ErrnoException, socket: net.Socket): void {
    try {
      const conn = this.#connections.get(socket);
      const peer = conn?.peer ?? '?';
      const { closures, log } = this.#options;
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.code === 'HPE_INVALID_EOF_STATE' || !socket.writable) {
        // The client is gone (reset, or closed mid-request, often after reading a refusal); a request whose
        // headers had arrived is counted where its body was being read.
        if (conn && !conn.requestSeen) closures.count('client_aborted');
        socket.destroy();
        return;
      }
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        // node's own deadline, a backstop behind the webserver's timers.
        closures.count(conn?.requestSeen ? 'body_timeout' : 'header_timeout');
        log.info(`Webserver connection from ${peer} closed: request not complete within node's backstop deadline`);
        socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        socket.destroy();
        return;
      }
      closures.count('malformed_request');
      log.debug(`Webserver got a malformed request from ${peer}: ${err.message} (${err.code ?? 'no code'})`);
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } catch {
      socket.destroy();
    }
  }

  /** Serve one request; whatever happens in there ends here, answered or closed, never thrown further. */
  #dispatch(req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean): void {
    // Read once, now: the socket is detached from the request once either side closes it.
    const socket = req.socket;
    const conn = this.#connections.get(socket);
    req.on('error', ignore);
    res.on('error', ignore);
    if (!conn) {
      // Refused at accept; node parsed what had already arrived.
      res.destroy();
      return;
    }
    conn.requestSeen = true;
    clearTimeout(conn.headerTimer);
    const x: Exchange = { req, res, socket, peer: conn.peer, headersAt: performance.now(), expectsContinue, path: '?' };
    this.#serve(x).catch((err: unknown) => this.#failed(x, err));
  }

  async #serve(x: Exchange): Promise<void> {
    const { config, routes, log, closures } = this.#options;
    const { req } = x;
    const method = req.method ?? 'GET';
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const response: WebResponse = { status: 200, body: '', headers: defaultHeaders(config) };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      closures.count('malformed_request');
      log.debug(`Webserver got a request for an unusable target from ${x.peer}: ${JSON.stringify(req.url)}`);
      response.status = 400;
      return this.#send(x, response);
    }
    x.path = url.pathname;
    const head: Omit<WebRequest, 'body' | 'postvars'> = {
      method,
      path: url.pathname,
      getvars: parseQuery(url.searchParams),
      headers,
      version: req.httpVersionMajor * 10 + req.httpVersionMinor,
      remote: x.peer,
    };
    const route = routes.get(head.path);

    // Everything up to the route's body bound is decided from the headers: no body byte is read for a refusal.
    if (method === 'OPTIONS') {
      // Pre-flight requests carry no credentials: answering them without authorization is what makes CORS work.
      addCors(head, response.headers, config);
      return this.#send(x, response);
    }
    if (!(await isAuthorized(head.path, headers, config))) {
      if (headers['authorization'] !== undefined) log.error(`HTTP Request "${head.path}" from ${x.peer}: Web Authentication failed`);
      response.status = 401;
      response.body = '<h1>Unauthorized</h1>';
      response.headers['WWW-Authenticate'] = 'basic realm="PowerDNS"';
      return this.#send(x, response);
    }
    const limit = method === 'GET' ? route?.maxBodyBytes : config.apiWritable ? route?.writableMethods?.[method] : undefined;
    if (method !== 'GET' && limit === undefined) {
      response.status = 405;
      return this.#send(x, response);
    }
    if (!route || limit === undefined) {
      response.status = 404;
      return this.#send(x, response);
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return this.#tooLarge(x, response, method, limit, `declares a body of ${declared} bytes`);

    let body = '';
    if (announcesBody(req)) {
      if (x.expectsContinue) x.res.writeContinue();
      const deadline = config.bodyDeadlineMs;
      const outcome = await readRequestBody(req, limit, Math.max(0, deadline - (performance.now() - x.headersAt)));
      switch (outcome.kind) {
        case 'too-large':
          return this.#tooLarge(x, response, method, limit, `sent more than ${limit} bytes of body`);
        case 'timeout':
          closures.count('body_timeout');
          log.info(
            `Webserver request "${head.path}" from ${x.peer}: body not complete within ${deadline} ms (${outcome.received} bytes received), answered 408 and closed`,
          );
          response.status = 408;
          response.headers['Content-Type'] = 'text/plain; charset=utf-8';
          response.body = `Request body not complete within ${deadline} ms\n`;
          return this.#send(x, response);
        case 'aborted':
          closures.count('client_aborted');
          log.debug(`Webserver request "${head.path}" from ${x.peer} aborted by the client after ${outcome.received} bytes of body`);
          x.res.destroy();
          return;
        case 'complete':
          body = outcome.body.toString('utf8');
      }
    }
    const isForm = (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const request: WebRequest = { ...head, body, postvars: isForm ? parseQuery(new URLSearchParams(body)) : new Map() };
    if (route.cors) addCors(request, response.headers, config);
    try {
      await route.handler(request, response);
    } catch (err) {
      closures.count('handler_error');
      log.error(`Webserver handler for "${request.path}" failed on a request from ${x.peer}: ${describeError(err)}`);
      return this.#send(x, { status: 500, body: '', headers: defaultHeaders(config) });
    }
    this.#send(x, response);
  }

  #tooLarge(x: Exchange, response: WebResponse, method: string, limit: number, what: string): void {
    this.#options.closures.count('body_too_large');
    this.#options.log.info(
      `Webserver request "${x.path}" from ${x.peer} ${what}, over the ${limit}-byte limit of ${method} ${x.path}: answered 413 and closed`,
    );
    response.status = 413;
    response.headers['Content-Type'] = 'text/plain; charset=utf-8';
    response.body = `Request body too large: ${method} ${x.path} takes at most ${limit} bytes\n`;
    this.#send(x, response);
  }

  /**
   * Write the answer and close. When the body was not read (a refusal, or
   * a read cut short), the connection stays open briefly and unread so
   * the client sees the answer rather than a reset, then it is closed.
   */
  #send(x: Exchange, response: WebResponse): void {
    const { res, req, socket } = x;
    const release = response.release;
    if (res.headersSent || socket.destroyed) {
      res.destroy();
      release?.();
      return;
    }
    // 'close' comes after the last write has completed or was abandoned: the body's memory is free then.
    if (release) res.once('close', release);
    let out = typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : response.body;
    try {
      res.writeHead(response.status, { ...response.headers, Connection: 'close', 'Content-Length': out.length });
    } catch (err) {
      // A handler left a status or header HTTP cannot carry.
      this.#options.closures.count('handler_error');
      this.#options.log.error(`Webserver could not send the response to "${x.path}" for ${x.peer}, answered 500: ${describeError(err)}`);
      out = Buffer.alloc(0);
      res.writeHead(500, { ...defaultHeaders(this.#options.config), Connection: 'close', 'Content-Length': 0 });
    }
    if (req.complete || !announcesBody(req)) {
      const stallMs = this.#options.config.sendStallMs;
      writeResponseBody(res, out, stallMs, () => {
        this.#options.closures.count('send_timeout');
        this.#options.log.info(
          `Webserver response to "${x.path}" for ${x.peer} closed: the client took no bytes for ${stallMs} ms (${out.length}-byte body)`,
        );
      });
      return;
    }
    if (out.length > 0) res.write(out);
    else res.flushHeaders();
    const linger = setTimeout(() => socket.destroy(), UNREAD_BODY_LINGER_MS);
    socket.once('close', () => clearTimeout(linger));
  }

  /** The last resort: something in #serve threw. Log once, answer 500 if nothing was sent yet, else close. */
  #failed(x: Exchange, err: unknown): void {
    try {
      this.#options.closures.count('handler_error');
      this.#options.log.error(`Webserver request "${x.path}" from ${x.peer} failed: ${describeError(err)}`);
      this.#send(x, { status: 500, body: '', headers: defaultHeaders(this.#options.config) });
    } catch {
      x.res.destroy();
    }
  }

  /** Stop listening and close open connections. */
  close(): Promise<void> {
    for (const s of this.#connections.keys()) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
