/**
 * Issue 15: no webserver request may take the proxy down. Oversized,
 * chunked, aborted, unauthenticated and slow requests, and handlers that
 * throw, against the real `bin/dnsdist-ts` process (where an escaped
 * exception ends the process, and DNS with it) and, for the deadlines,
 * against an in-process proxy whose deadlines are shortened. After each
 * case the proxy still answers DNS and an authorised API request.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { BLOCK_API_PATH } from '@dnsdist-ts/web/web/block-api.js';
import { ALLOW_FROM_PATH } from '@dnsdist-ts/web/web/web-routes.js';
import { BLOCK_API_BODY_LIMIT, MAX_REQUEST_BODY, NO_BODY_LIMIT } from '@dnsdist-ts/web/web/webserver-limits.js';
import { exited, startCli } from '../cli/cli-process.js';
import { udpQuery } from '../support/dns-client.js';
import { freePort, startDemo } from '../support/proxy-harness.js';
import { httpRequest } from './http-client.js';
import { basicAuth, RawHttpConnection, requestHead } from './raw-http-connection.js';
import { startWebProxy, type RunningWebProxy } from './web-harness.js';

const KEY_LINE = 'X-API-Key: key';
const PASSWORD_LINE = basicAuth('admin', 'pw');

/** The proxy answers DNS through its backend and an authorised API request. */
async function expectServing(dnsPort: number, webPort: number): Promise<void> {
  expect((await udpQuery(dnsPort, 'www.example.test'))?.rcode).toBe('NOERROR');
  const r = await httpRequest(webPort, '/api/v1/servers/localhost', { apiKey: 'key' });
  expect(r.status).toBe(200);
  expect(JSON.parse(r.body)).toHaveProperty('daemon_type', 'dnsdist');
}

/** `dnsdist_ts_webserver_closed_connections_total{reason}` from a scrape. */
async function closures(webPort: number): Promise<Record<string, number>> {
  const text = (await httpRequest(webPort, '/metrics', { apiKey: 'key' })).body;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^dnsdist_ts_webserver_closed_connections_total\{reason="([a-z_]+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

describe('webserver hostile requests against bin/dnsdist-ts', () => {
  let demo: DemoServer;
  let dir: string;
  let child: ChildProcess | undefined;
  let output: () => string;
  let dns: number;
  let web: number;

  beforeAll(async () => {
    demo = await startDemo();
    dir = mkdtempSync(join(tmpdir(), 'dts-web-hostile-'));
    writeFileSync(
      join(dir, 'dnsdist.conf'),
      `newServer{address="127.0.0.1:${demo.port}", name="demo"}
       getServer(0):setUp()
       webserver("127.0.0.1:0")
       setWebserverConfig({password="pw", apiKey="key"})
       setAPIWritable(true)
       registerWebHandler('/lua-error', function(req, resp) error("handler failed on purpose") end)
       registerWebHandler('/bad-header', function(req, resp) resp.headers = {["Not A Token"]="x"} end)
       registerWebHandler('/echo-length', function(req, resp) resp.body = tostring(#req.body) end)
      `,
    );
  });
  afterAll(async () => {
    await demo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // A fresh process per case: each case shows on its own whether it takes the process down.
  beforeEach(async () => {
    dns = await freePort();
    const started = await startCli(
      ['--supervised', '-C', join(dir, 'dnsdist.conf'), '-l', `127.0.0.1:${dns}`],
      /Webserver launched on 127\.0\.0\.1:\d+/,
      15000,
      'bin',
    );
    child = started.child;
    output = started.output;
    web = Number(/Webserver launched on 127\.0\.0\.1:(\d+)/.exec(output())![1]);
  });
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited(child);
    }
    child = undefined;
  });

  /** The process is still running, and serves DNS and the API. */
  const expectAlive = async (): Promise<void> => {
    expect({ exitCode: child!.exitCode, output: child!.exitCode === null ? '' : output() }).toEqual({ exitCode: null, output: '' });
    await expectServing(dns, web);
  };

  it('answers an unauthenticated body of 1 MiB + 1 byte with 401 and stays up (the process exited with a TypeError)', async () => {
    const c = await RawHttpConnection.open(web);
    void c.write(requestHead('POST', '/', [`Content-Length: ${MAX_REQUEST_BODY + 1}`]));
    void c.write(Buffer.alloc(MAX_REQUEST_BODY + 1));
    expect((await c.answer())?.status).toBe(401);
    c.destroy();
    await expectAlive();
    expect(output()).not.toMatch(/TypeError/);
  });

  it('answers 401 to an unauthenticated request announcing a huge body before any of it is sent, then closes', async () => {
    const c = await RawHttpConnection.open(web);
    await c.write(requestHead('PUT', ALLOW_FROM_PATH, ['Content-Length: 1073741824']));
    const a = await c.answer();
    expect(a?.status).toBe(401);
    expect(a?.headers.connection).toBe('close');
    // The server closes the connection without waiting for the gigabyte.
    await c.closed();
    // A client that keeps writing regardless still reads its answer rather than a reset.
    const greedy = await RawHttpConnection.open(web);
    void greedy.write(requestHead('POST', BLOCK_API_PATH, ['Content-Length: 1073741824']));
    await greedy.flood(Buffer.alloc(64 * 1024));
    expect((await greedy.answer())?.status).toBe(401);
    greedy.destroy();
    await expectAlive();
  });

  it('refuses a body over the route bound announced by Content-Length with 413, before reading it', async () => {
    const c = await RawHttpConnection.open(web);
    await c.write(requestHead('POST', BLOCK_API_PATH, [KEY_LINE, `Content-Length: ${BLOCK_API_BODY_LIMIT + 1}`]));
    const a = await c.answer();
    expect(a?.status).toBe(413);
    expect(a?.body).toBe(`Request body too large: POST ${BLOCK_API_PATH} takes at most ${BLOCK_API_BODY_LIMIT} bytes\n`);
    await c.closed();
    // The case, authorised: 1 MiB + 1 byte to the endpoint with the largest bound.
    const big = await RawHttpConnection.open(web);
    void big.write(requestHead('PUT', ALLOW_FROM_PATH, [KEY_LINE, `Content-Length: ${MAX_REQUEST_BODY + 1}`]));
    void big.write(Buffer.alloc(MAX_REQUEST_BODY + 1, 0x20));
    expect((await big.answer())?.status).toBe(413);
    big.destroy();
    // GET routes take no body worth the name.
    const get = await httpRequest(web, '/metrics', { apiKey: 'key', method: 'GET', body: 'x'.repeat(NO_BODY_LIMIT + 1) });
    expect(get.status).toBe(413);
    expect((await httpRequest(web, '/metrics', { apiKey: 'key', body: 'x'.repeat(NO_BODY_LIMIT) })).status).toBe(200);
    await expectAlive();
    expect(output()).toMatch(
      new RegExp(`Webserver request "${BLOCK_API_PATH}" from 127\\.0\\.0\\.1:\\d+ declares a body of ${BLOCK_API_BODY_LIMIT + 1} bytes`),
    );
  });

  it('refuses an oversized chunked body with 413 as it streams (the process exited past 1 MiB)', async () => {
    const c = await RawHttpConnection.open(web);
    await c.write(requestHead('PUT', ALLOW_FROM_PATH, [KEY_LINE, 'Transfer-Encoding: chunked']));
    const written = await c.flood(Buffer.alloc(64 * 1024, 0x20), 'chunked');
    expect((await c.answer())?.status).toBe(413);
    expect(written).toBeGreaterThan(MAX_REQUEST_BODY);
    c.destroy();
    const small = await RawHttpConnection.open(web);
    await small.write(requestHead('POST', BLOCK_API_PATH, [KEY_LINE, 'Transfer-Encoding: chunked']));
    await small.flood(Buffer.alloc(4096, 0x20), 'chunked');
    expect((await small.answer())?.status).toBe(413);
    small.destroy();
    await expectAlive();
  });

  it('survives bodies aborted midway, counted as client_aborted', async () => {
    for (const framing of ['Content-Length: 100000', 'Transfer-Encoding: chunked']) {
      const c = await RawHttpConnection.open(web);
      await c.write(requestHead('PUT', ALLOW_FROM_PATH, [KEY_LINE, framing]));
      await c.write(framing.startsWith('Transfer') ? `400\r\n${' '.repeat(1024)}\r\n` : ' '.repeat(50000));
      c.destroy();
      await c.closed();
    }
    // An unauthenticated one too, and one cut off inside its headers.
    const u = await RawHttpConnection.open(web);
    await u.write(requestHead('POST', '/', ['Content-Length: 100000']));
    await u.write(' '.repeat(1000));
    u.destroy();
    const h = await RawHttpConnection.open(web);
    await h.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    h.destroy();
    await expectAlive();
    expect((await closures(web)).client_aborted).toBeGreaterThanOrEqual(3);
  });

  it('answers 500 when a Lua handler errors or leaves a response HTTP cannot carry, and goes on answering', async () => {
    const err = await httpRequest(web, '/lua-error', { basic: 'admin:pw' });
    expect(err.status).toBe(500);
    const bad = await httpRequest(web, '/bad-header', { basic: 'admin:pw' });
    expect(bad.status).toBe(500);
    expect(bad.headers['x-content-type-options']).toBe('nosniff');
    await expectAlive();
    expect(output()).toMatch(/Webserver handler for "\/lua-error" failed on a request from 127\.0\.0\.1:\d+: .*handler failed on purpose/);
    expect(output()).toMatch(/Webserver could not send the response to "\/bad-header" for 127\.0\.0\.1:\d+, answered 500: /);
    expect((await closures(web)).handler_error).toBe(2);
  });

  it('sends 100 Continue only to an authorised request within its bound, and hands its body over', async () => {
    const ok = await RawHttpConnection.open(web);
    await ok.write(requestHead('GET', '/echo-length', [PASSWORD_LINE, 'Expect: 100-continue', 'Content-Length: 5']));
    // The server asks for the body before it is sent.
    await ok.until(() => ok.statuses.length > 0);
    expect(ok.statuses).toEqual([100]);
    await ok.write('hello');
    const a = await ok.answer();
    expect(ok.statuses).toEqual([100, 200]);
    expect(a?.body).toBe('5');
    const refused = await RawHttpConnection.open(web);
    await refused.write(requestHead('GET', '/echo-length', ['Expect: 100-continue', 'Content-Length: 5']));
    expect((await refused.answer())?.status).toBe(401);
    expect(refused.statuses).toEqual([401]);
    const tooBig = await RawHttpConnection.open(web);
    await tooBig.write(requestHead('GET', '/echo-length', [PASSWORD_LINE, 'Expect: 100-continue', 'Content-Length: 1000000']));
    expect((await tooBig.answer())?.status).toBe(413);
    expect(tooBig.statuses).toEqual([413]);
    for (const c of [ok, refused, tooBig]) c.destroy();
    await expectAlive();
  });
});

describe('webserver deadlines and handler failures (in-process, deadlines shortened)', () => {
  let demo: DemoServer;
  let p: RunningWebProxy;
  beforeAll(async () => {
    demo = await startDemo();
    p = await startWebProxy(
      `newServer{address="127.0.0.1:\${DEMO}", name="demo"}
       getServer(0):setUp()
       webserver("127.0.0.1:0")
       setWebserverConfig({password="pw", apiKey="key", maxConcurrentConnections=3})
       setAPIWritable(true)`,
      { DEMO: demo.port },
    );
  });
  afterAll(async () => {
    await p?.stop();
    await demo?.close();
  });
  afterEach(() => {
    p.app.web.config.headerDeadlineMs = 10_000;
    p.app.web.config.bodyDeadlineMs = 10_000;
  });

  it('closes connections whose headers trickle in past the header deadline, freeing their slots', async () => {
    p.app.web.config.headerDeadlineMs = 400;
    const slow = await Promise.all([0, 1, 2].map(() => RawHttpConnection.open(p.web)));
    const timers = slow.map((c) => {
      void c.write('GET /api/v1/servers/localhost HTTP/1.1\r\n');
      return setInterval(() => void c.write('X-Slow: y\r\n'), 50);
    });
    try {
      // The three hold every slot: a fourth connection is closed at once.
      for (let i = 0; i < 200 && p.app.web.server!.connections < 3; i++) await new Promise((r) => setTimeout(r, 10));
      const fourth = await RawHttpConnection.open(p.web);
      await fourth.write(requestHead('GET', '/metrics', [KEY_LINE]));
      expect(await fourth.answer()).toBeUndefined();
      // Past the deadline the server answers 408 and closes them, though they keep sending.
      const answers = await Promise.all(slow.map((c) => c.answer()));
      await Promise.all(slow.map((c) => c.closed()));
      expect(answers.map((a) => a?.status)).toEqual([408, 408, 408]);
    } finally {
      timers.forEach(clearInterval);
    }
    expect(
      p.output.filter((l) => /^Webserver connection from 127\.0\.0\.1:\d+ closed: no complete request headers within 400 ms$/.test(l)),
    ).toHaveLength(3);
    await expectServing(p.port, p.web);
    expect((await closures(p.web)).header_timeout).toBe(3);
  }, 15000);

  it('answers 408 to a body trickled past the body deadline, and closes', async () => {
    p.app.web.config.bodyDeadlineMs = 400;
    const c = await RawHttpConnection.open(p.web);
    await c.write(requestHead('PUT', ALLOW_FROM_PATH, [KEY_LINE, 'Content-Length: 1000']));
    const timer = setInterval(() => void c.write('{'), 50);
    try {
      const a = await c.answer();
      expect(a?.status).toBe(408);
      expect(a?.body).toBe('Request body not complete within 400 ms\n');
      await c.closed();
    } finally {
      clearInterval(timer);
    }
    expect(
      p.output.some((l) =>
        /^Webserver request "\/api\/v1\/servers\/localhost\/config\/allow-from" from 127\.0\.0\.1:\d+: body not complete within 400 ms/.test(
          l,
        ),
      ),
    ).toBe(true);
    await expectServing(p.port, p.web);
    expect((await closures(p.web)).body_timeout).toBe(1);
  }, 15000);

  it('answers 500 when a handler throws a non-Error, rejects, or sets an impossible status, and goes on answering', async () => {
    p.app.web.routes.register('/throws-null', () => {
      throw null;
    });
    p.app.web.routes.register('/rejects', async () => {
      await new Promise((r) => setImmediate(r));
      throw new Error('rejected on purpose');
    });
    p.app.web.routes.register('/status-1000', (_req, res) => void (res.status = 1000));
    for (const path of ['/throws-null', '/rejects', '/status-1000']) {
      const r = await httpRequest(p.web, path, { basic: 'admin:pw' });
      expect({ path, status: r.status }).toEqual({ path, status: 500 });
    }
    expect(p.output).toContainEqual(
      expect.stringMatching(/^Webserver handler for "\/throws-null" failed on a request from 127\.0\.0\.1:\d+: null$/),
    );
    expect(p.output).toContainEqual(expect.stringMatching(/^Webserver handler for "\/rejects" failed .*: rejected on purpose$/));
    await expectServing(p.port, p.web);
  });

  it('answers 400 to a request target no URL parser takes, and to broken chunk framing', async () => {
    const c = await RawHttpConnection.open(p.web);
    await c.write(requestHead('GET', '//', [KEY_LINE]));
    expect((await c.answer())?.status).toBe(400);
    const chunked = await RawHttpConnection.open(p.web);
    await chunked.write(requestHead('PUT', ALLOW_FROM_PATH, [KEY_LINE, 'Transfer-Encoding: chunked']));
    await chunked.write('zz\r\nnot a chunk\r\n');
    expect((await chunked.answer())?.status).toBe(400);
    await expectServing(p.port, p.web);
  });
});
