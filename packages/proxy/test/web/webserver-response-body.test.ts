/**
 * Large response bodies (an 8.5 MB `/metrics` with 100,000 kernel blocks):
 * the webserver writes them in pieces with backpressure, so they arrive
 * intact (plain and gzip, with their Content-Length); a body in a reused
 * buffer is given back once written; and a client that stops reading is
 * closed after the send deadline instead of pinning the body and its
 * connection slot for ever.
 */
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { BODY_PIECE_BYTES, writeResponseBody } from '@dnsdist-ts/web/web/response-body-writer.js';
import type { WebResponse } from '@dnsdist-ts/web/web/web-exchange.js';
import { startWebProxy, type RunningWebProxy } from './web-harness.js';

const CONFIG = `webserver("127.0.0.1:0")\nsetWebserverConfig({apiKey="key"})\n`;

/** GET `path`: status, headers and the body's bytes; `pace` (ms) pauses the reader after each chunk it gets. */
function get(port: number, path: string, pace = 0): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers: { 'X-API-Key': 'key' }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          if (pace > 0) {
            res.pause();
            setTimeout(() => res.resume(), pace);
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** A route serving `body` (with `headers`) whose release is observable, as /metrics's reused buffer is. */
function serve(p: RunningWebProxy, path: string, body: Buffer, headers: Record<string, string> = {}): { released: Promise<number> } {
  let releases = 0;
  let done: (n: number) => void = () => undefined;
  const released = new Promise<number>((resolve) => (done = resolve));
  p.app.web.routes.register(path, (_req, res: WebResponse) => {
    Object.assign(res.headers, headers);
    res.body = body;
    res.release = () => done(++releases);
  });
  return { released };
}

/** Resolves with `value` after `ms`, for bounding a wait on something that must happen. */
const after = <T>(ms: number, value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms).unref());

describe('large response bodies', () => {
  let p: RunningWebProxy;

  beforeAll(async () => {
    p = await startWebProxy(CONFIG);
  });

  afterAll(async () => {
    await p?.stop();
  });

  afterEach(() => {
    p.app.web.config.sendStallMs = 10_000;
  });

  it('arrive intact, with their Content-Length, and give their buffer back once written', async () => {
    const body = randomBytes(BODY_PIECE_BYTES * 24 + 12_345);
    const { released } = serve(p, '/api/test/large', body);
    const r = await get(p.web, '/api/test/large');
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(body.length));
    expect(r.body.equals(body)).toBe(true);
    expect(await released).toBe(1);
  });

  it('arrive intact gzipped, as /metrics sends them to a scraper that accepts gzip', async () => {
    const plain = Buffer.concat(
      Array.from({ length: 40_000 }, (_, i) => Buffer.from(`sample{key="10.0.${i >> 8}.${i & 255}"} ${i * 7919}\n`)),
    );
    const zipped = gzipSync(Buffer.concat([plain, randomBytes(BODY_PIECE_BYTES * 4)]), { level: 1 });
    serve(p, '/api/test/zipped', zipped, { 'Content-Encoding': 'gzip' });
    const r = await get(p.web, '/api/test/zipped');
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.body.equals(zipped)).toBe(true);
    expect(gunzipSync(r.body).subarray(0, plain.length).equals(plain)).toBe(true);
  });

  it('reach a client that reads slowly but steadily, even when the whole transfer outlasts the send deadline', async () => {
    p.app.web.config.sendStallMs = 1_000;
    const body = randomBytes(BODY_PIECE_BYTES * 32);
    serve(p, '/api/test/paced', body);
    const started = performance.now();
    const r = await get(p.web, '/api/test/paced', 25);
    expect(r.body.equals(body)).toBe(true);
    // The deadline is per piece taken, not for the whole body (this transfer took longer than one deadline).
    expect(performance.now() - started).toBeGreaterThan(p.app.web.config.sendStallMs);
  });

  it('are dropped, and their buffer given back, when the client stops reading: the connection is closed after the send deadline', async () => {
    p.app.web.config.sendStallMs = 300;
    // Far more than the kernel's socket buffers hold for a client that reads nothing.
    const { released } = serve(p, '/api/test/stalled', Buffer.alloc(48 * 1024 * 1024, 0x61));
    const before = p.app.web.closures.counts.get('send_timeout') ?? 0;
    const socket = net.connect({ host: '127.0.0.1', port: p.web });
    try {
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.pause(); // reads nothing from here on
      socket.write('GET /api/test/stalled HTTP/1.1\r\nHost: x\r\nX-API-Key: key\r\n\r\n');
      expect(await Promise.race([released, after(10_000, 'still held after 10 s')])).toBe(1);
      expect(p.app.web.closures.counts.get('send_timeout')).toBe(before + 1);
      expect(p.output.join('\n')).toMatch(
        /Webserver response to "\/api\/test\/stalled" for 127\.0\.0\.1:\d+ closed: the client took no bytes for 300 ms \(50331648-byte body\)/,
      );
      expect(p.app.web.server!.connections).toBe(0);
    } finally {
      socket.destroy();
    }
  });
});

describe('writeResponseBody', () => {
  it('hands the socket one piece per turn of the event loop, so other I/O runs between pieces', async () => {
    const body = randomBytes(BODY_PIECE_BYTES * 10 + 1);
    const writes: Array<{ bytes: number; turnsBefore: number }> = [];
    let turns = 0;
    const server = http.createServer((_req, res) => {
      const write = res.write.bind(res) as (chunk: Buffer) => boolean;
      res.write = ((chunk: Buffer) => {
        writes.push({ bytes: chunk.length, turnsBefore: turns });
        // Counts a turn once the loop gets back to its check phase after this write.
        setImmediate(() => turns++);
        return write(chunk);
      }) as typeof res.write;
      res.writeHead(200, { 'Content-Length': body.length });
      writeResponseBody(res, body, 10_000, () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const received = await new Promise<Buffer>((resolve, reject) =>
        http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
        }),
      );
      expect(received.equals(body)).toBe(true);
      expect(writes.map((w) => w.bytes)).toEqual([...Array<number>(10).fill(BODY_PIECE_BYTES), 1]);
      // Every piece after the first waited for at least one turn of the loop after the one before it.
      for (let i = 1; i < writes.length; i++) expect(writes[i]!.turnsBefore).toBeGreaterThan(writes[i - 1]!.turnsBefore);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
