import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { encodeQuery, tcpExchange } from '../support/dns-client.js';
import { curl, dnsParam, kdigHttps, makeCertificate, type TestCertificate } from '../support/doh-clients.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, listenUdpAndTcp, startUdpBackend, type TestBackend } from '../support/test-backends.js';
import { formatDohFrontends, formatDohResponseCodes } from '@dnsdist-ts/dataplane/doh/doh-console-texts.js';
import { localhostJson } from '@dnsdist-ts/web/web/api-status-json.js';
import { writeDnsdistMetrics } from '@dnsdist-ts/web/metrics/dnsdist-metrics.js';
import { PrometheusTextWriter } from '@dnsdist-ts/web/metrics/prometheus-text-writer.js';

/** Backend: every name gets 192.0.2.1 (TTL 60); records what it was asked. */
async function backend(seen: Buffer[]): Promise<TestBackend> {
  return startUdpBackend((msg) => {
    seen.push(Buffer.from(msg));
    return answerWithA(dnsPacket.decode(msg), '192.0.2.1');
  });
}

/** The data of an answer's first record. */
function firstData(message: Buffer): unknown {
  return (dnsPacket.decode(message).answers?.[0] as { data?: unknown } | undefined)?.data;
}

const RESOLVE = (port: number): string[] => ['--resolve', `doh.test:${port}:127.0.0.1`];

describe('addDOHLocal over TLS: HTTP/2 and HTTP/1.1 from curl and kdig', () => {
  let cert: TestCertificate;
  let be: TestBackend;
  const seen: Buffer[] = [];
  let proxy: RunningProxy;
  let port: number;
  let base: string;
  let tlsArgs: string[];

  beforeAll(async () => {
    cert = await makeCertificate();
    be = await backend(seen);
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:\${BE}", healthCheckMode="up"}
       addDOHLocal("127.0.0.1:0", "${cert.cert}", "${cert.key}", {"/dns-query", "/other", "/coffee"},
         {customResponseHeaders={["X-Custom"]="yes"}, serverTokens="test-server"})
       getDOHFrontend(0):setResponsesMap({newDOHResponseMapEntry("^/coffee$", 418, "C0FFEE", {["FoO"]="bar"})})
       addAction("drop.test.", DropAction())
       addAction("plain.test.", HTTPStatusAction(200, "Plaintext answer", "text/plain"))
       addAction("moved.test.", HTTPStatusAction(307, "https://example.test/"))
       addAction(HTTPPathRule("/other"), SpoofAction("192.0.2.2"))
       addAction(HTTPHeaderRule("X-Spoof", "^y+$"), SpoofAction("192.0.2.3"))
       addAction(HTTPPathRegexRule("^/OTH"), SpoofAction("192.0.2.4"))
       addAction("lua.test.", LuaAction(function(dq)
         dq:setHTTPResponse(200, table.concat({dq:getHTTPScheme(), dq:getHTTPHost(), dq:getHTTPPath(),
           dq:getHTTPQueryString(), dq:getHTTPHeaders()["x-seen"] or "-", dq:getProtocol()}, "|"), "text/plain")
         dq.dh:setQR(true)
         return DNSAction.HeaderModify
       end))
       local ffi = require("ffi")
       addAction("ffi.test.", LuaFFIAction(function(dq)
         local headers = ffi.new("const dnsdist_ffi_http_header_t *[1]")
         local n = ffi.C.dnsdist_ffi_dnsquestion_get_http_headers(dq, headers)
         local seen = "-"
         for i = 0, tonumber(n) - 1 do
           if ffi.string(headers[0][i].name) == "x-seen" then seen = ffi.string(headers[0][i].value) end
         end
         local text = table.concat({ffi.string(ffi.C.dnsdist_ffi_dnsquestion_get_http_scheme(dq)),
           ffi.string(ffi.C.dnsdist_ffi_dnsquestion_get_http_path(dq)), seen}, "|")
         ffi.C.dnsdist_ffi_dnsquestion_set_http_response(dq, 200, text, #text, "text/plain")
         ffi.C.dnsdist_ffi_dnsquestion_set_rcode(dq, DNSRCode.NOERROR)
         return DNSAction.HeaderModify
       end))`,
      { BE: be.port },
    );
    port = proxy.app.proxy.dohFrontends[0]!.local.port;
    base = `https://doh.test:${port}`;
    tlsArgs = [...RESOLVE(port), '--cacert', cert.cert];
  });
  afterAll(async () => {
    await proxy?.stop();
    await be?.close();
    cert?.cleanup();
  });

  it('kdig +https (POST, then GET) gets the backend answer', async () => {
    const post = await kdigHttps(port, 'kdig-post.test', { ca: cert.cert });
    expect(post).toMatch(/status: NOERROR/);
    expect(post).toMatch(/kdig-post\.test\.\s+60\s+IN\s+A\s+192\.0\.2\.1/);
    const get = await kdigHttps(port, 'kdig-get.test', { ca: cert.cert, get: true });
    expect(get).toMatch(/kdig-get\.test\.\s+60\s+IN\s+A\s+192\.0\.2\.1/);
  });

  it('GET over HTTP/2: 200, application/dns-message, max-age of the lowest TTL, custom headers lower-cased, the OPT record added for the backend and removed again', async () => {
    const q = encodeQuery('get.test', { id: 4242 });
    seen.length = 0;
    const r = await curl(`${base}/dns-query?dns=${dnsParam(q)}`, ['--http2', ...tlsArgs]);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/dns-message');
    expect(r.headers.get('cache-control')).toBe('max-age=60');
    expect(r.headers.get('x-custom')).toBe('yes');
    expect(r.headers.get('server')).toBe('test-server');
    expect(r.verbose).toMatch(/HTTP\/2 200/);
    const a = dnsPacket.decode(r.body);
    expect(a.id).toBe(4242);
    expect(firstData(r.body)).toBe('192.0.2.1');
    expect(a.additionals ?? []).toHaveLength(0);
    const toBackend = dnsPacket.decode(seen.find((m) => dnsPacket.decode(m).questions?.[0]?.name === 'get.test')!);
    expect(toBackend.additionals?.[0]).toMatchObject({ type: 'OPT', udpPayloadSize: 4096 });
  });

  it('POST over HTTP/1.1 gets the answer', async () => {
    const file = join(cert.dir, 'post.bin');
    writeFileSync(file, encodeQuery('post.test', { id: 7 }));
    const r = await curl(`${base}/dns-query`, [
      '--http1.1',
      ...tlsArgs,
      '-X',
      'POST',
      '-H',
      'content-type: application/dns-message',
      '--data-binary',
      `@${file}`,
    ]);
    expect(r.status).toBe(200);
    expect(r.verbose).toMatch(/HTTP\/1\.1 200/);
    expect(firstData(r.body)).toBe('192.0.2.1');
  });

  it.each([
    ['no query string', '/dns-query', 400, 'Unable to parse the request'],
    ['an empty dns parameter', '/dns-query?dns=', 400, 'Unable to parse the request'],
    ['no dns parameter', '/dns-query?foo=bar', 400, 'Unable to find the DNS parameter'],
    ['a dns parameter that is not base64url', '/dns-query?dns=!!!!', 400, 'Unable to decode BASE64-URL'],
    ['a message shorter than a header', `/dns-query?dns=${dnsParam(Buffer.alloc(5))}`, 400, 'The DNS query could not be parsed'],
    [
      'a name running past the end',
      `/dns-query?dns=${dnsParam(encodeQuery('cut.test').subarray(0, 20))}`,
      400,
      'The DNS query could not be parsed',
    ],
    [
      'a response (QR set)',
      `/dns-query?dns=${dnsParam(Buffer.from(encodeQuery('qr.test').map((b, i) => (i === 2 ? b | 0x80 : b))))}`,
      400,
      'invalid DNS query',
    ],
    ['a path nothing is configured for', '/elsewhere?dns=AAAA', 404, 'not found'],
    [
      'a path below a configured one (exact matching)',
      `/dns-query/below?dns=${dnsParam(encodeQuery('x.test'))}`,
      404,
      'there is no endpoint configured for this path',
    ],
    ['a query the rules drop', `/dns-query?dns=${dnsParam(encodeQuery('drop.test'))}`, 403, 'dns query not allowed'],
  ])('%s', async (_what, path, status, text) => {
    const r = await curl(`${base}${path}`, ['--http2', ...tlsArgs]);
    expect(r.status).toBe(status);
    expect(r.body.toString()).toBe(text);
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    // dnsdist sends its custom headers only with answers, not with these errors.
    expect(r.headers.has('x-custom')).toBe(false);
  });

  it('any method but POST is read as a GET, as dnsdist does', async () => {
    const put = await curl(`${base}/dns-query?dns=${dnsParam(encodeQuery('put.test'))}`, ['--http2', ...tlsArgs, '-X', 'PUT']);
    expect([put.status, firstData(put.body)]).toEqual([200, '192.0.2.1']);
    const bare = await curl(`${base}/dns-query`, ['--http2', ...tlsArgs, '-X', 'DELETE']);
    expect([bare.status, bare.body.toString()]).toEqual([400, 'Unable to parse the request']);
  });

  it('HTTPStatusAction answers with its status, body and content type, or redirects', async () => {
    const ok = await curl(`${base}/dns-query?dns=${dnsParam(encodeQuery('plain.test'))}`, ['--http2', ...tlsArgs]);
    expect([ok.status, ok.body.toString(), ok.headers.get('content-type'), ok.headers.get('x-custom')]).toEqual([
      200,
      'Plaintext answer',
      'text/plain',
      'yes',
    ]);
    const moved = await curl(`${base}/dns-query?dns=${dnsParam(encodeQuery('moved.test'))}`, ['--http2', ...tlsArgs]);
    expect(moved.status).toBe(307);
    expect(moved.headers.get('location')).toBe('https://example.test/');
    expect(moved.headers.has('x-custom')).toBe(false);
  });

  it('the responses map answers matching paths before any DNS processing, with its own headers', async () => {
    const r = await curl(`${base}/coffee`, ['--http2', ...tlsArgs]);
    expect([r.status, r.body.toString(), r.headers.get('foo'), r.headers.has('x-custom')]).toEqual([418, 'C0FFEE', 'bar', false]);
  });

  it('HTTPPathRule, HTTPHeaderRule and HTTPPathRegexRule see the request', async () => {
    const q = dnsParam(encodeQuery('rules.test'));
    const byPath = await curl(`${base}/other?dns=${q}`, ['--http2', ...tlsArgs]);
    expect(firstData(byPath.body)).toBe('192.0.2.2');
    const byHeader = await curl(`${base}/dns-query?dns=${q}`, ['--http2', ...tlsArgs, '-H', 'X-Spoof: yyy']);
    expect(firstData(byHeader.body)).toBe('192.0.2.3');
    const notHeader = await curl(`${base}/dns-query?dns=${q}`, ['--http2', ...tlsArgs, '-H', 'X-Spoof: no']);
    expect(firstData(notHeader.body)).toBe('192.0.2.1');
  });

  it('dq:getHTTP* read the request and dq:setHTTPResponse answers it', async () => {
    const q = dnsParam(encodeQuery('lua.test'));
    const r = await curl(`${base}/dns-query?dns=${q}&x=1`, ['--http2', ...tlsArgs, '-H', 'X-Seen: hello']);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(`https|doh.test:${port}|/dns-query|?dns=${q}&x=1|hello|DNS over HTTPS`);
  });

  it('the ffi module reads the DoH request and answers it (dnsdist_ffi_dnsquestion_get_http_*, set_http_response)', async () => {
    const q = dnsParam(encodeQuery('ffi.test'));
    const r = await curl(`${base}/dns-query?dns=${q}`, ['--http2', ...tlsArgs, '-H', 'X-Seen: hi']);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('https|/dns-query|hi');
  });

  it('counts requests as dnsdist does, in showDOHFrontends, the API and the metrics', async () => {
    const f = proxy.app.proxy.dohFrontends[0]!;
    const c = f.counters;
    expect(c.httpConnects).toBeGreaterThan(10);
    expect(c.getQueries).toBeGreaterThan(0);
    expect(c.postQueries).toBeGreaterThan(0);
    expect(c.badRequests).toBeGreaterThanOrEqual(4);
    expect(c.http2.status400).toBeGreaterThanOrEqual(6);
    expect(c.http1.status200).toBeGreaterThanOrEqual(1);
    const codes = formatDohResponseCodes(proxy.app.proxy.dohFrontends).split('\n');
    expect(codes.slice(0, 4)).toEqual([
      '',
      '- HTTP/1:',
      '',
      `${'#'.padEnd(3)} ${'Address'.padEnd(20)} ${['200', '400', '403', '500', '502'].map((h) => h.padEnd(15)).join(' ')} ${'Others'.padEnd(15)}`,
    ]);
    expect(codes[4]).toMatch(new RegExp(`^0   127\\.0\\.0\\.1:${port}\\s+${c.http1.status200}\\s`));
    expect(proxy.app.runConsoleCommand('showBinds()')).toContain(`TCP (DNS over HTTPS)  ${c.queries}`);
    const text = formatDohFrontends(proxy.app.proxy.dohFrontends);
    expect(text.split('\n')[1]).toMatch(
      new RegExp(`^0   127\\.0\\.0\\.1:${port}\\s+${c.httpConnects}\\s+${c.http1.queries}\\s+${c.http2.queries}\\s`),
    );
    const json = localhostJson({ proxy: proxy.app.proxy, rules: proxy.app.rules, version: 'test' } as never);
    expect((json.dohFrontends as Array<Record<string, unknown>>)[0]).toMatchObject({
      address: `127.0.0.1:${port}`,
      'get-queries': c.getQueries,
      'http2-400-responses': c.http2.status400,
    });
    const entries = json.frontends as Array<Record<string, unknown>>;
    expect(entries[entries.length - 1]).toMatchObject({ type: 'TCP (DNS over HTTPS)', udp: false, tcp: true });
    const w = new PrometheusTextWriter();
    const p = proxy.app.proxy;
    writeDnsdistMetrics(w, {
      stats: [],
      servers: [],
      frontends: p.frontends,
      dohFrontends: p.dohFrontends,
      pools: new Map(),
      rules: [],
      topOffenders: { netmasks: new Map(), suffixes: new Map() } as never,
      version: 't',
    });
    const metrics = w.text();
    const fe = `frontend="127.0.0.1:${port}"`;
    expect(metrics).toContain(`dnsdist_frontend_http_connects{${fe},thread="0"} ${c.httpConnects}\n`);
    expect(metrics).toContain(`dnsdist_frontend_doh_http_method_queries{method="post",${fe},thread="0"} ${c.postQueries}\n`);
    expect(metrics).toContain(
      `dnsdist_frontend_doh_version_status_responses{httpversion="2",status="400",${fe},thread="0"} ${c.http2.status400}\n`,
    );
    expect(metrics).toContain(`dnsdist_frontend_queries{${fe},proto="TCP (DNS over HTTPS)",thread="0"} ${c.queries}\n`);
    expect(metrics).toContain(`dnsdist_frontend_tlsqueries{${fe},proto="TCP (DNS over HTTPS)",thread="0",tls="tls13"} ${c.tls13Queries}\n`);
  });
});

describe('addDOHLocal without a certificate: DNS over plain HTTP behind a proxy', () => {
  let be: TestBackend;
  let proxy: RunningProxy;
  let port: number;

  beforeAll(async () => {
    be = await backend([]);
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       setACL("192.0.2.0/24")
       newServer{address="127.0.0.1:\${BE}", healthCheckMode="up"}
       addDOHLocal("127.0.0.1:0", nil, nil, "/dns-query", {trustForwardedForHeader=true})`,
      { BE: be.port },
    );
    port = proxy.app.proxy.dohFrontends[0]!.local.port;
  });
  afterAll(async () => {
    await proxy?.stop();
    await be?.close();
  });

  it('says so when the configuration is read', () => {
    expect(proxy.output).toContain(
      `No certificate provided for DoH endpoint 127.0.0.1:0, running in DNS over HTTP mode instead of DNS over HTTPS`,
    );
  });

  it.each([
    ['HTTP/1.1', ['--http1.1']],
    ['HTTP/2 with prior knowledge', ['--http2-prior-knowledge']],
  ])('%s: the right-most X-Forwarded-For address passes the ACL', async (_what, args) => {
    const r = await curl(`http://127.0.0.1:${port}/dns-query?dns=${dnsParam(encodeQuery('plain-http.test'))}`, [
      ...args,
      '-H',
      'X-Forwarded-For: 203.0.113.9, 192.0.2.77:4000',
    ]);
    expect(r.status).toBe(200);
    expect(firstData(r.body)).toBe('192.0.2.1');
  });

  it('a dynamic block applies to the client behind the proxy: Refused answers it, Drop gets 403, others pass', async () => {
    proxy.app.runConsoleCommand('addDynamicBlock("192.0.2.66", "doh test", DNSAction.Refused, 60)');
    proxy.app.runConsoleCommand('addDynamicBlock("192.0.2.67", "doh test", DNSAction.Drop, 60)');
    const url = `http://127.0.0.1:${port}/dns-query?dns=${dnsParam(encodeQuery('blocked.test'))}`;
    const refused = await curl(url, ['--http1.1', '-H', 'X-Forwarded-For: 192.0.2.66']);
    expect([refused.status, (dnsPacket.decode(refused.body).flags ?? 0) & 0x0f]).toEqual([200, 5]);
    const dropped = await curl(url, ['--http1.1', '-H', 'X-Forwarded-For: 192.0.2.67']);
    expect([dropped.status, dropped.body.toString()]).toEqual([403, 'dns query not allowed']);
    const other = await curl(url, ['--http1.1', '-H', 'X-Forwarded-For: 192.0.2.68']);
    expect(firstData(other.body)).toBe('192.0.2.1');
  });

  it('an X-Forwarded-For address outside the ACL (or none: the proxy is 127.0.0.1) gets 403', async () => {
    const url = `http://127.0.0.1:${port}/dns-query?dns=${dnsParam(encodeQuery('denied.test'))}`;
    for (const extra of [['-H', 'X-Forwarded-For: 192.0.2.77, 203.0.113.9'], []]) {
      const r = await curl(url, ['--http1.1', ...extra]);
      expect([r.status, r.body.toString()]).toEqual([403, 'dns query not allowed because of ACL']);
    }
  });
});

describe('DoH queries and the backend', () => {
  it('a backend that never answers: 502 once the query times out', async () => {
    const silent = await startUdpBackend(() => undefined);
    const proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       setUDPTimeout(1)
       newServer{address="127.0.0.1:\${BE}", healthCheckMode="up"}
       addDOHLocal("127.0.0.1:0")`,
      { BE: silent.port },
    );
    try {
      const port = proxy.app.proxy.dohFrontends[0]!.local.port;
      const r = await curl(`http://127.0.0.1:${port}/dns-query?dns=${dnsParam(encodeQuery('silent.test'))}`, ['--http1.1']);
      expect([r.status, r.body.toString()]).toEqual([502, 'no downstream server available']);
    } finally {
      await proxy.stop();
      await silent.close();
    }
  });
});

describe('addDOHLocal refuses what it cannot do', () => {
  it.each([
    ['an unknown option', `addDOHLocal("127.0.0.1:0", nil, nil, "/", {noSuchOption=1})`, /noSuchOption/],
    [
      'a missing certificate file',
      `addDOHLocal("127.0.0.1:0", "/nonexistent/cert.pem", "/nonexistent/key.pem")`,
      /\/nonexistent\/cert\.pem/,
    ],
    [
      'a certificate without its key',
      `addDOHLocal("127.0.0.1:0", {"/a.pem", "/b.pem"}, "/a.key")`,
      /2 certificate file\(s\) but 1 key file/,
    ],
    ['a path without its leading slash', `addDOHLocal("127.0.0.1:0", nil, nil, "dns-query")`, /must start with '\/'/],
    ['an unknown minTLSVersion', `addDOHLocal("127.0.0.1:0", nil, nil, "/", {minTLSVersion="tls9"})`, /unknown minTLSVersion 'tls9'/],
  ])('%s', async (_what, line, message) => {
    await expect(startProxy(`setLocal("127.0.0.1:\${PORT}")\n${line}`)).rejects.toThrow(message);
  });
});

describe('a truncated UDP answer to a DoH query', () => {
  it('is asked again over TCP, and the TCP answer is cached for DoH and TCP clients alike', async () => {
    let tcpQueries = 0;
    const be = await listenUdpAndTcp(
      (udp, msg, rinfo) => {
        const q = dnsPacket.decode(msg);
        const tc = dnsPacket.encode({
          type: 'response',
          id: q.id,
          flags: dnsPacket.TRUNCATED_RESPONSE,
          questions: q.questions,
          answers: [],
        } as dnsPacket.Packet);
        udp.send(tc, rinfo.port, rinfo.address);
      },
      (socket) => {
        socket.on('data', (chunk: Buffer) => {
          tcpQueries++;
          const a = answerWithA(dnsPacket.decode(chunk.subarray(2, 2 + chunk.readUInt16BE(0))), '192.0.2.9');
          const frame = Buffer.alloc(2 + a.length);
          frame.writeUInt16BE(a.length, 0);
          a.copy(frame, 2);
          socket.write(frame);
        });
      },
    );
    const proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:\${BE}", healthCheckMode="up"}
       getPool(""):setCache(newPacketCache(100))
       addDOHLocal("127.0.0.1:0")`,
      { BE: be.port },
    );
    try {
      const port = proxy.app.proxy.dohFrontends[0]!.local.port;
      const query = encodeQuery('tc.test', { id: 42 });
      const r = await curl(`http://127.0.0.1:${port}/dns-query?dns=${dnsParam(query)}`, ['--http1.1']);
      const a = dnsPacket.decode(r.body);
      expect([a.flags! & dnsPacket.TRUNCATED_RESPONSE, firstData(r.body)]).toEqual([0, '192.0.2.9']);
      expect(tcpQueries).toBe(1);
      // The query as the backend saw it (with the OPT record DoH added), now from a TCP client: a cache hit.
      const overTcp = dnsPacket.encode({
        ...dnsPacket.decode(query),
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: 0 } as dnsPacket.Answer],
      });
      const tBody = await tcpExchange(proxy.port, overTcp);
      expect(firstData(tBody)).toBe('192.0.2.9');
      const againBody = (await curl(`http://127.0.0.1:${port}/dns-query?dns=${dnsParam(query)}`, ['--http1.1'])).body;
      expect(firstData(againBody)).toBe('192.0.2.9');
      expect(tcpQueries).toBe(1);
    } finally {
      await proxy.stop();
      await new Promise<void>((r) => be.udp.close(() => r()));
      await new Promise<void>((r) => be.tcp.close(() => r()));
    }
  });
});

describe('certificates of a running DoH frontend', () => {
  it('loadNewCertificatesAndKeys serves the new certificate to new connections; a bad file changes nothing', async () => {
    const first = await makeCertificate('first.test');
    const second = await makeCertificate('second.test', first.dir);
    const proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")\naddDOHLocal("127.0.0.1:0", "${first.cert}", "${first.key}")`);
    try {
      const port = proxy.app.proxy.dohFrontends[0]!.local.port;
      const subject = async (): Promise<string | undefined> =>
        /subject: CN=([\w.]+)/.exec((await curl(`https://127.0.0.1:${port}/dns-query`, ['--http2', '-k'])).verbose)?.[1];
      expect(await subject()).toBe('first.test');
      proxy.app.runConsoleCommand(`getDOHFrontend(0):loadNewCertificatesAndKeys("${second.cert}", "${second.key}")`);
      expect(await subject()).toBe('second.test');
      const reply = proxy.app.runConsoleCommand(`getDOHFrontend(0):loadNewCertificatesAndKeys("/nonexistent.pem", "${second.key}")`);
      expect(reply).toMatch(/unable to read the certificate file '\/nonexistent\.pem'/);
      expect(await subject()).toBe('second.test');
      writeFileSync(second.cert, readFileSync(first.cert));
      writeFileSync(second.key, readFileSync(first.key));
      proxy.app.runConsoleCommand('getDOHFrontend(0):reloadCertificates()');
      expect(await subject()).toBe('first.test');
    } finally {
      await proxy.stop();
      first.cleanup();
    }
  });

  it('reloadAllCertificates() reloads DoH listeners too; one whose files went bad is logged and keeps serving', async () => {
    const first = await makeCertificate('first.test');
    const second = await makeCertificate('second.test', first.dir);
    const third = await makeCertificate('third.test', first.dir);
    const proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")
addDOHLocal("127.0.0.1:0", "${first.cert}", "${first.key}")
addDOHLocal("127.0.0.1:0", "${third.cert}", "${third.key}")`);
    try {
      const [a, b] = proxy.app.proxy.dohFrontends.map((d) => d.local.port);
      const subject = async (port: number): Promise<string | undefined> =>
        /subject: CN=([\w.]+)/.exec((await curl(`https://127.0.0.1:${port}/dns-query`, ['--http2', '-k'])).verbose)?.[1];
      writeFileSync(first.cert, readFileSync(second.cert));
      writeFileSync(first.key, readFileSync(second.key));
      writeFileSync(third.key, 'not a key');
      const reply = proxy.app.runConsoleCommand('reloadAllCertificates()');
      expect(await subject(a!)).toBe('second.test');
      expect(reply).toMatch(
        new RegExp(
          `Error reloading certificates for frontend 127\\.0\\.0\\.1:${b}: the key file '.*third\\.test\\.key' holds no PEM private key`,
        ),
      );
      expect(await subject(b!)).toBe('third.test');
    } finally {
      await proxy.stop();
      first.cleanup();
    }
  });
});

describe('TLS session tickets of a DoH frontend', () => {
  /** One TLS 1.2 handshake with openssl s_client, saving or offering a session; "New" or "Reused". */
  async function handshake(port: number, session: string, mode: 'save' | 'resume'): Promise<string | undefined> {
    const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', mode === 'save' ? '-sess_out' : '-sess_in', session];
    const out = await new Promise<string>((resolve) => {
      const child = execFile('openssl', args, { timeout: 10_000 }, (_err, stdout) => resolve(stdout));
      child.stdin?.end();
    });
    return /^(New|Reused), TLSv1\.2/m.exec(out)?.[1];
  }

  it('resumes a session after rotateTicketsKey() until numberOfTicketsKeys rotations push its key out; the ticket count and next rotation are shown', async () => {
    const cert = await makeCertificate();
    const proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")\naddDOHLocal("127.0.0.1:0", "${cert.cert}", "${cert.key}", "/dns-query", {ticketsKeysRotationDelay=3600, numberOfTicketsKeys=3})`,
    );
    try {
      const frontend = proxy.app.proxy.dohFrontends[0]!;
      const port = frontend.local.port;
      const session = join(cert.dir, 'session.pem');
      const rotate = (): string => proxy.app.runConsoleCommand('getDOHFrontend(0):rotateTicketsKey()');
      expect(await handshake(port, session, 'save')).toBe('New');
      expect(await handshake(port, session, 'resume')).toBe('Reused');
      expect(proxy.app.runConsoleCommand('getDOHFrontend(0):getTLSContext():getTicketsKeysCount()')).toBe('1\n');
      rotate();
      // The ticket's key is no longer active but still held: it resumes (TLS 1.2 keeps offering the old ticket).
      expect(await handshake(port, session, 'resume')).toBe('Reused');
      rotate();
      expect(await handshake(port, session, 'resume')).toBe('Reused');
      expect(proxy.app.runConsoleCommand('getDOHFrontend(0):getTLSContext():getTicketsKeysCount()')).toBe('3\n');
      expect(frontend.ticketKeys.inactiveTicketKeys).toBe(2);
      // A third rotation pushes the ticket's key out of the three kept.
      rotate();
      expect(await handshake(port, session, 'resume')).toBe('New');
      expect(frontend.ticketKeys.unknownTicketKeys).toBe(1);
      const next = Number(proxy.app.runConsoleCommand('getDOHFrontend(0):getTLSContext():getNextTicketsKeyRotation()'));
      expect(next - Date.now() / 1000).toBeGreaterThan(3500);
    } finally {
      await proxy.stop();
      cert.cleanup();
    }
  });

  it('takes its ticket keys from ticketKeyFile, and reloads the file at each rotation, as a DoT listener does', async () => {
    const cert = await makeCertificate();
    const keys = join(cert.dir, 'tickets.key');
    writeFileSync(keys, Buffer.alloc(80, 1));
    const proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       addDOHLocal("127.0.0.1:0", "${cert.cert}", "${cert.key}", "/dns-query", {ticketKeyFile="${keys}", ticketsKeysRotationDelay=60, numberOfTicketsKeys=2})`,
    );
    try {
      const frontend = proxy.app.proxy.dohFrontends[0]!;
      const port = frontend.local.port;
      const session = join(cert.dir, 'session.pem');
      const activeKeyName = (): Buffer => frontend.ticketKeys.export()[0]!.subarray(0, 16);
      const next = Number(proxy.app.runConsoleCommand('getDOHFrontend(0):getTLSContext():getNextTicketsKeyRotation()'));
      expect(next - Date.now() / 1000).toBeGreaterThan(50);
      expect(await handshake(port, session, 'save')).toBe('New');
      // Another key in the file; the rotation that comes due reads it: the file's key is active, the old one kept.
      writeFileSync(keys, Buffer.alloc(80, 2));
      frontend.tick(frontend.nextTicketsKeyRotation);
      expect(frontend.ticketKeys.size).toBe(2);
      expect(activeKeyName()).toEqual(Buffer.alloc(16, 2));
      expect(await handshake(port, session, 'resume')).toBe('Reused');
      // A file gone bad at rotation time is logged; the keys stay and it is read again at the next tick.
      writeFileSync(keys, 'not a key');
      frontend.tick(frontend.nextTicketsKeyRotation);
      expect(proxy.output.join('\n')).toMatch(
        /Error rotating the TLS ticket keys of DoH frontend 127\.0\.0\.1:\d+: the tickets key file .* holds 9 bytes/,
      );
      expect(activeKeyName()).toEqual(Buffer.alloc(16, 2));
      writeFileSync(keys, Buffer.alloc(80, 3));
      frontend.tick(frontend.nextTicketsKeyRotation);
      // Two keys kept: the session's key (1) is pushed out.
      expect(activeKeyName()).toEqual(Buffer.alloc(16, 3));
      expect(await handshake(port, session, 'resume')).toBe('New');
    } finally {
      await proxy.stop();
      cert.cleanup();
    }
  });

  it('keeps tickets working across reloadCertificates(): the ring stays on the new TLS context', async () => {
    const cert = await makeCertificate();
    const proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")\naddDOHLocal("127.0.0.1:0", "${cert.cert}", "${cert.key}", "/dns-query")`,
    );
    try {
      const port = proxy.app.proxy.dohFrontends[0]!.local.port;
      const session = join(cert.dir, 'session.pem');
      expect(await handshake(port, session, 'save')).toBe('New');
      proxy.app.runConsoleCommand('reloadAllCertificates()');
      proxy.app.runConsoleCommand('getDOHFrontend(0):rotateTicketsKey()');
      expect(await handshake(port, session, 'resume')).toBe('Reused');
    } finally {
      await proxy.stop();
      cert.cleanup();
    }
  });
});

describe('TLS options of a DoH frontend', () => {
  /** openssl s_client's output for one handshake with `args`. */
  function sClient(port: number, args: string[]): Promise<string> {
    return new Promise((resolve) => {
      const child = execFile(
        'openssl',
        ['s_client', '-connect', `127.0.0.1:${port}`, ...args],
        { timeout: 10_000 },
        (_err, stdout, stderr) => resolve(`${stdout}${stderr}`),
      );
      child.stdin?.end();
    });
  }

  it('minTLSVersion refuses older clients, keyLogFile records the secrets, ticketKeyFile and loadTicketsKeys decide which tickets resume', async () => {
    const cert = await makeCertificate();
    const keys = join(cert.dir, 'tickets.key');
    const otherKeys = join(cert.dir, 'other-tickets.key');
    writeFileSync(keys, Buffer.alloc(160, 1));
    // Five distinct keys: loading them pushes every older key out of the five kept.
    writeFileSync(otherKeys, Buffer.concat([2, 3, 4, 5, 6].map((v) => Buffer.alloc(80, v))));
    const keyLog = join(cert.dir, 'keys.log');
    const proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       addDOHLocal("127.0.0.1:0", "${cert.cert}", "${cert.key}", "/dns-query", {keyLogFile="${keyLog}", ticketKeyFile="${keys}"})
       addDOHLocal("127.0.0.1:0", "${cert.cert}", "${cert.key}", "/dns-query", {minTLSVersion="tls1.3"})`,
    );
    try {
      const port = proxy.app.proxy.dohFrontends[0]!.local.port;
      const tls13Only = proxy.app.proxy.dohFrontends[1]!.local.port;
      expect(await sClient(tls13Only, ['-tls1_2'])).not.toMatch(/^New, TLSv1\.2/m);
      expect(await sClient(tls13Only, ['-tls1_3'])).toMatch(/^New, TLSv1\.3/m);
      const session = join(cert.dir, 'session.pem');
      expect(await sClient(port, ['-tls1_2', '-sess_out', session])).toMatch(/^New, TLSv1\.2/m);
      expect(readFileSync(keyLog, 'utf8')).toMatch(/^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/m);
      proxy.app.runConsoleCommand(`getDOHFrontend(0):loadTicketsKeys("${keys}")`);
      expect(await sClient(port, ['-tls1_2', '-sess_in', session])).toMatch(/^Reused, TLSv1\.2/m);
      proxy.app.runConsoleCommand(`getDOHFrontend(0):loadTicketsKeys("${otherKeys}")`);
      expect(await sClient(port, ['-tls1_2', '-sess_in', session])).toMatch(/^New, TLSv1\.2/m);
      const bad = proxy.app.runConsoleCommand(`getDOHFrontend(0):loadTicketsKeys("${keyLog}")`);
      expect(bad).toMatch(/not a whole number of 80-byte keys/);
    } finally {
      await proxy.stop();
      cert.cleanup();
    }
  });

  it('ignoreTLSConfigurationErrors: a listener whose certificate cannot be loaded is logged and left out', async () => {
    const proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       addDOHLocal("127.0.0.1:0", "/nonexistent/cert.pem", "/nonexistent/key.pem", "/dns-query", {ignoreTLSConfigurationErrors=true})`,
    );
    try {
      expect(proxy.app.proxy.dohFrontends).toHaveLength(0);
      expect(proxy.output.join('\n')).toMatch(
        /unable to read the certificate file '\/nonexistent\/cert\.pem'.*ignoreTLSConfigurationErrors/,
      );
    } finally {
      await proxy.stop();
    }
  });
});

describe('idleTimeout of a DoH frontend', () => {
  it('closes an HTTP/2 connection that sends nothing for idleTimeout seconds, over TLS and plain HTTP', async () => {
    const cert = await makeCertificate();
    const proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       addDOHLocal("127.0.0.1:0", "${cert.cert}", "${cert.key}", "/dns-query", {idleTimeout=1})
       addDOHLocal("127.0.0.1:0", nil, nil, "/dns-query", {idleTimeout=1})`,
    );
    try {
      for (const [scheme, f] of [
        ['https', proxy.app.proxy.dohFrontends[0]!],
        ['http', proxy.app.proxy.dohFrontends[1]!],
      ] as const) {
        const session = http2.connect(`${scheme}://127.0.0.1:${f.local.port}`, { rejectUnauthorized: false });
        session.on('error', () => undefined);
        await new Promise<void>((resolve) => session.once('connect', () => resolve()));
        // The server closes it; with the default idleTimeout (30 s) this would outlast the test's timeout.
        await new Promise<void>((resolve) => session.once('close', () => resolve()));
        expect(session.closed).toBe(true);
      }
    } finally {
      await proxy.stop();
      cert.cleanup();
    }
  });
});

describe('HTTP/2 framing of DoH answers', () => {
  /**
   * A stream over `socket` for Node's HTTP/2 client that also parses the frame headers of what the
   * server sends (Node's client would read a plain socket natively, out of JS's sight).
   */
  function frameTap(socket: net.Socket): {
    stream: Duplex;
    frames: Array<{ type: number; flags: number; stream: number; length: number }>;
  } {
    const frames: Array<{ type: number; flags: number; stream: number; length: number }> = [];
    const stream = new Duplex({
      read() {
        socket.resume();
      },
      write(chunk: Buffer, _enc, cb) {
        socket.write(chunk, () => cb());
      },
      final(cb) {
        socket.end(cb);
      },
      destroy(err, cb) {
        socket.destroy();
        cb(err);
      },
    });
    socket.on('end', () => stream.push(null));
    // The connection ends as the test closes the session; what it says then is not under test.
    socket.on('error', () => stream.destroy());
    stream.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (!stream.push(chunk)) socket.pause();
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 9) {
        const length = buf.readUIntBE(0, 3);
        if (buf.length < 9 + length) break;
        frames.push({ length, type: buf[3]!, flags: buf[4]!, stream: buf.readUInt32BE(5) & 0x7fffffff });
        buf = buf.subarray(9 + length);
      }
    });
    return { stream, frames };
  }

  it.each([
    ['a GET answered at once (a rule spoofs it)', 'GET'],
    ['a POST answered at once', 'POST'],
  ])('%s: the answer and the end of the stream share one DATA frame, as with dnsdist', async (_what, method) => {
    const proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")\naddAction(AllRule(), SpoofAction("192.0.2.5"))\naddDOHLocal("127.0.0.1:0")`,
    );
    try {
      const port = proxy.app.proxy.dohFrontends[0]!.local.port;
      const socket = net.connect(port, '127.0.0.1');
      const { stream, frames } = frameTap(socket);
      const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => stream });
      const query = encodeQuery('frames.test', { id: 1 });
      const req =
        method === 'GET'
          ? session.request({ ':path': `/dns-query?dns=${dnsParam(query)}` })
          : session.request({ ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' });
      req.end(method === 'POST' ? query : undefined);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      await new Promise<void>((resolve) => req.once('end', () => resolve()));
      session.close();
      expect(firstData(Buffer.concat(chunks))).toBe('192.0.2.5');
      const data = frames.filter((f) => f.type === 0 && f.stream === req.id);
      expect(data).toEqual([{ type: 0, flags: 1, stream: req.id, length: Buffer.concat(chunks).length }]);
    } finally {
      await proxy.stop();
    }
  });
});
