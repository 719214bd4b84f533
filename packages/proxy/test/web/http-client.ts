/**
 * HTTP for the webserver tests: one request per connection (as dnsdist
 * serves them), credentials as basic auth or X-API-Key, and a raw-socket
 * probe that tells an answered request from a closed connection.
 */
import http from 'node:http';
import net from 'node:net';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  /** Basic auth as "user:password". */
  basic?: string;
  apiKey?: string;
  headers?: Record<string, string>;
  body?: string;
  host?: string;
  localAddress?: string;
}

export function httpRequest(port: number, path: string, opts: RequestOptions = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.basic !== undefined) headers.Authorization = `Basic ${Buffer.from(opts.basic).toString('base64')}`;
  if (opts.apiKey !== undefined) headers['X-API-Key'] = opts.apiKey;
  if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: opts.host ?? '127.0.0.1', port, path, method: opts.method ?? 'GET', headers, agent: false, localAddress: opts.localAddress },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from 127.0.0.1:${port}${path} within 10 s`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** GET and parse JSON, failing with the body when the status is not 200. */
export async function getJson<T = unknown>(port: number, path: string, opts: RequestOptions = {}): Promise<T> {
  const r = await httpRequest(port, path, opts);
  if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status} ${r.body}`);
  return JSON.parse(r.body) as T;
}

/**
 * Send a raw GET on a fresh connection and report what came back: the
 * first bytes of an answer, or how the connection ended without one.
 */
export function rawProbe(
  port: number,
  request: string,
  opts: { localAddress?: string; host?: string } = {},
): Promise<{ answer: string } | { closed: 'reset' | 'eof' }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: opts.host ?? '127.0.0.1', port, localAddress: opts.localAddress });
    let data = '';
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error('probe timed out'));
    });
    socket.on('connect', () => socket.write(request));
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (data !== '') resolve({ answer: data });
      else if (err.code === 'ECONNRESET' || err.code === 'EPIPE') resolve({ closed: 'reset' });
      else reject(err);
    });
    socket.on('end', () => resolve(data !== '' ? { answer: data } : { closed: 'eof' }));
  });
}

/** Open a connection and keep it (it holds one of the server's connection slots). */
export function holdConnection(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', reject);
  });
}
