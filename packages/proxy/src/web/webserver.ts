/**
 * dnsdist's built-in webserver on node:http: one request per connection
 * (every response says `Connection: close`), connections from outside the
 * ACL or over the concurrency limit closed at once, then per request:
 * CORS pre-flight, authorization (401), method (405), route (404). The
 * response carries the configured custom headers and dnsdist's security
 * headers (a custom header of the same name, even empty, replaces one).
 */
import http from 'node:http';
import type net from 'node:net';
import { formatAddress, formatAddressWithPort, parseAddress, type IpAddressWithPort } from '@dnsdist-ts/dns';
import type { Logger } from '../server/logger.js';
import { isAuthorized } from './web-authorization.js';
import type { WebHandler, WebRequest, WebResponse } from './web-exchange.js';
import type { WebserverConfig } from './webserver-config.js';

/** dnsdist's security headers, sent unless a custom header of the same name is configured. */
export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'deny'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '1; mode=block'],
  ['Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'"],
];

/** Request bodies larger than this are refused (413): the API's documents are small. */
export const MAX_REQUEST_BODY = 1024 * 1024;

/** One path the webserver serves. */
export interface WebRoute {
  readonly handler: WebHandler;
  /** Answer CORS requests for it (dnsdist does for its JSON endpoints, not for files or custom handlers). */
  readonly cors: boolean;
  /** Methods besides GET it accepts, and only when the API is writable (setAPIWritable). */
  readonly writableMethods?: readonly string[];
}

/** Where routes come from (built-ins plus registerWebHandler's, which may replace them). */
export interface WebRouteTable {
  get(path: string): WebRoute | undefined;
}

export interface WebserverOptions {
  readonly config: WebserverConfig;
  readonly routes: WebRouteTable;
  readonly log: Logger;
}

/** The address a socket's peer has, IPv4-mapped IPv6 unmapped (as the ACL matches it). */
function peerAddress(socket: net.Socket): { bytes: Uint8Array; text: string } | undefined {
  const raw = socket.remoteAddress;
  if (!raw) return undefined;
  const text = raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw;
  try {
    const bytes = parseAddress(text).bytes;
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
function addCors(req: WebRequest, headers: Record<string, string>, config: WebserverConfig): void {
  const origin = req.headers['origin'];
  if (origin === undefined) return;
  if (req.method === 'OPTIONS') {
    headers['Access-Control-Allow-Methods'] = config.apiWritable ? 'GET, PUT' : 'GET';
    headers['Access-Control-Allow-Headers'] = 'Authorization, X-API-Key';
  }
  headers['Access-Control-Allow-Origin'] = origin;
  if (isStatsOrLocalhost(req.path)) headers['Access-Control-Allow-Credentials'] = 'true';
}

export class Webserver {
  readonly #server: http.Server;
  readonly #options: WebserverOptions;
  /** The bound address ("127.0.0.1:8083"), with the real port when 0 was asked for. */
  readonly address: string;
  readonly port: number;
  #connections = 0;
  readonly #sockets = new Set<net.Socket>();

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
    const server = http.createServer({ keepAlive: false, requestTimeout: 10_000, headersTimeout: 10_000 });
    const host = formatAddress(address.bytes);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: address.port, exclusive: true }, () => {
        server.off('error', reject);
        const bound = server.address() as net.AddressInfo;
        const ws = new Webserver(server, options, formatAddressWithPort({ ...address, port: bound.port }), bound.port);
        server.on('connection', (socket: net.Socket) => ws.#accept(socket));
        server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
          ws.#onRequest(req, res).catch((err: Error) => {
            // The client went away while its request was read (or the socket failed): nothing to answer.
            options.log.debug(`Webserver request from ${req.socket.remoteAddress ?? '?'} aborted: ${err.message}`);
            res.destroy();
          });
        });
        server.on('clientError', (_err, socket: net.Socket) => {
          if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
          else socket.destroy();
        });
        server.on('error', (err) => options.log.error(`Webserver on ${ws.address} failed: ${err.message}`));
        resolve(ws);
      });
    });
  }

  /** Connections currently open. */
  get connections(): number {
    return this.#connections;
  }

  #accept(socket: net.Socket): void {
    const { config, log } = this.#options;
    const peer = peerAddress(socket);
    if (!peer || !config.acl.match(peer.bytes)) {
      log.debug(`Connection to webserver from client ${peer?.text ?? socket.remoteAddress} is not allowed, closing`);
      socket.destroy();
      return;
    }
    if (this.#connections >= config.maxConcurrentConnections) {
      log.error('Had an error accepting new webserver connection: Too many concurrent web client connections');
      socket.destroy();
      return;
    }
    this.#connections++;
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#connections--;
      this.#sockets.delete(socket);
    });
    log.debug(`Got a connection to the webserver from ${peer.text}`);
  }

  async #onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { config, log } = this.#options;
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY) {
        tooLarge = true;
        break;
      }
      chunks.push(chunk);
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const body = Buffer.concat(chunks).toString('utf8');
    const isForm = (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const peer = peerAddress(req.socket)?.text ?? `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
    const request: WebRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      getvars: parseQuery(url.searchParams),
      postvars: isForm ? parseQuery(new URLSearchParams(body)) : new Map(),
      headers,
      body,
      version: req.httpVersionMajor * 10 + req.httpVersionMinor,
      remote: peer,
    };
    const response: WebResponse = { status: 200, body: '', headers: defaultHeaders(config) };
    try {
      await this.#handle(request, response, tooLarge);
    } catch (err) {
      log.error(`Webserver handler for "${request.path}" failed on a request from ${peer}: ${(err as Error).message}`);
      response.status = 500;
      response.body = '';
    }
    const out = typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : response.body;
    const outHeaders: Record<string, string | number> = { ...response.headers, Connection: 'close', 'Content-Length': out.length };
    try {
      res.writeHead(response.status, outHeaders);
      res.end(out);
    } catch (err) {
      // A handler may have set a header value HTTP cannot carry.
      log.error(`Webserver could not send the response to "${request.path}": ${(err as Error).message}`);
      res.destroy();
    }
  }

  async #handle(req: WebRequest, res: WebResponse, tooLarge: boolean): Promise<void> {
    const { config, routes, log } = this.#options;
    const route = routes.get(req.path);
    if (req.method === 'OPTIONS') {
      // Pre-flight requests carry no credentials: answering them without authorization is what makes CORS work.
      addCors(req, res.headers, config);
      res.status = 200;
      return;
    }
    if (!(await isAuthorized(req.path, req.headers, config))) {
      if (req.headers['authorization'] !== undefined) log.error(`HTTP Request "${req.path}" from ${req.remote}: Web Authentication failed`);
      res.status = 401;
      res.body = '<h1>Unauthorized</h1>';
      res.headers['WWW-Authenticate'] = 'basic realm="PowerDNS"';
      return;
    }
    if (req.method !== 'GET' && !(config.apiWritable && route?.writableMethods?.includes(req.method))) {
      res.status = 405;
      return;
    }
    if (tooLarge) {
      res.status = 413;
      return;
    }
    if (!route) {
      res.status = 404;
      return;
    }
    if (route.cors) addCors(req, res.headers, config);
    await route.handler(req, res);
  }

  /** Stop listening and close open connections. */
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
