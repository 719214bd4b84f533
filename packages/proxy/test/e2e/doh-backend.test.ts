/**
 * Backends over DNS over HTTPS (newServer{dohPath=…}) against Debian's
 * dnsdist 1.7.3 as the DoH server (addDOHLocal, certificates made by the
 * test): UDP and TCP clients' queries are HTTP/2 POSTs on one reused
 * connection, X-Forwarded-* headers name the client's transport, health
 * checks go over DoH, the idle-connection limit is applied, and a
 * certificate that does not check out stops the traffic, is counted and
 * is named in the log.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as dnsPacket from 'dns-packet';
import { freePort } from '../../../../test/support/free-port.js';
import { spawnDnsdist, type SpawnedDnsdist } from '../../../../test/support/dnsdist.js';
import { dnsdist, kdig, opensslCli } from '../../../../test/support/requirements.js';
import { describeRequires } from '../../../../test/support/require.js';
import { makeTestPki, type TestPki } from '../../../../test/support/tls-certificates.js';
import { encodeQuery, tcpQuery, udpQuery, waitFor } from '../support/dns-client.js';
import { waitForDnsdistAnswer } from '../support/dnsdist-ready.js';
import { curl, dnsParam, kdigHttps } from '../support/doh-clients.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

describeRequires('backends over DNS over HTTPS (newServer{dohPath=…}) to dnsdist 1.7.3', [dnsdist, opensslCli], () => {
  let pki: TestPki;
  let backend: SpawnedDnsdist;
  let dohPort: number;
  const proxies: RunningProxy[] = [];

  beforeAll(async () => {
    pki = makeTestPki();
    const cert = pki.issue('doh-backend.test', ['doh-backend.test']);
    dohPort = await freePort();
    const plainPort = await freePort();
    // The backend tells by its answer which X-Forwarded-Proto it saw (none: 192.0.2.55).
    backend = spawnDnsdist(
      `setLocal("127.0.0.1:${plainPort}")
       addDOHLocal("127.0.0.1:${dohPort}", "${cert.chain}", "${cert.key}", "/dns-query")
       addAction(HTTPHeaderRule("X-Forwarded-Proto", "^dns-over-udp$"), SpoofAction("192.0.2.1"))
       addAction(HTTPHeaderRule("X-Forwarded-Proto", "^dns-over-tcp$"), SpoofAction("192.0.2.2"))
       addAction(AllRule(), SpoofAction("192.0.2.55"))`,
    );
    await waitForDnsdistAnswer(backend, plainPort, encodeQuery('probe.test'));
  });
  afterAll(async () => {
    for (const p of proxies) await p.stop();
    await backend?.stop();
    pki?.remove();
  });

  const proxyWith = async (serverOptions: string, before = ''): Promise<RunningProxy> => {
    const p = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       ${before}
       newServer{address="127.0.0.1:${dohPort}", checkName="probe.test.", dohPath="/dns-query", ${serverOptions}}`,
    );
    proxies.push(p);
    return p;
  };
  const good = (): string => `tls="openssl", caStore="${pki.caCert}", subjectName="doh-backend.test"`;

  it('sends UDP and TCP queries as HTTP/2 POSTs on one connection, reused for every query', async () => {
    const p = await proxyWith(`${good()}, healthCheckMode="up"`);
    const server = p.app.proxy.servers[0]!;
    const n = 6;
    for (let i = 0; i < n; i++) {
      const a = i % 2 === 0 ? await udpQuery(p.port, `u${i}.example`) : await tcpQuery(p.port, `t${i}.example`);
      expect(a?.answers?.[0]?.data).toBe('192.0.2.55');
    }
    expect(server.counters.tcpNewConnections).toBe(1);
    expect(server.counters.tcpReusedConnections).toBe(n - 1);
    expect(server.counters.responses).toBe(n);
    expect(server.dohPool?.connectionCount).toBe(1);
  });

  it("shows the DoH connection in the API's per-backend TCP counters and in /metrics", async () => {
    const webPort = await freePort();
    const p = await proxyWith(
      `${good()}, healthCheckMode="up"`,
      `webserver("127.0.0.1:${webPort}") setWebserverConfig({apiKey="doh-key", password="doh-pass"})`,
    );
    for (let i = 0; i < 3; i++) expect((await udpQuery(p.port, `api${i}.example`))?.answers?.[0]?.data).toBe('192.0.2.55');
    const res = await fetch(`http://127.0.0.1:${webPort}/api/v1/servers/localhost`, { headers: { 'X-API-Key': 'doh-key' } });
    const server = ((await res.json()) as { servers: Array<Record<string, unknown>> }).servers[0]!;
    expect(server).toMatchObject({
      tcpNewConnections: 1,
      tcpReusedConnections: 2,
      tcpCurrentConnections: 1,
      tcpMaxConcurrentConnections: 1,
      tlsResumptions: 0,
      queries: 3,
      responses: 3,
    });
    const metrics = await (await fetch(`http://127.0.0.1:${webPort}/metrics`, { headers: { 'X-API-Key': 'doh-key' } })).text();
    expect(metrics).toMatch(/^dnsdist_server_tcpcurrentconnections\{server="127_0_0_1:\d+",address="127\.0\.0\.1:\d+"\} 1$/m);
    expect(metrics).toMatch(/^dnsdist_server_tcpreusedconnections\{server="127_0_0_1:\d+",address="127\.0\.0\.1:\d+"\} 2$/m);
  });

  it('carries the answer back with the client ID, many queries at once on the one connection', async () => {
    const p = await proxyWith(`${good()}, healthCheckMode="up"`);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => udpQuery(p.port, `c${i}.example`, { id: 1000 + i })));
    answers.forEach((a, i) => {
      expect(a?.id).toBe(1000 + i);
      expect(a?.answers?.[0]?.data).toBe('192.0.2.55');
    });
    expect(p.app.proxy.servers[0]!.dohPool?.connectionCount).toBe(1);
  });

  it('with addXForwardedHeaders, names the client transport in X-Forwarded-Proto (dns-over-udp, dns-over-tcp)', async () => {
    const p = await proxyWith(`${good()}, healthCheckMode="up", addXForwardedHeaders=true`);
    expect((await udpQuery(p.port, 'x1.example'))?.answers?.[0]?.data).toBe('192.0.2.1');
    expect((await tcpQuery(p.port, 'x2.example')).answers?.[0]?.data).toBe('192.0.2.2');
  });

  it('health-checks over DoH: the backend is marked up by a check POSTed on a connection of its own', async () => {
    const p = await proxyWith(good());
    const server = p.app.proxy.servers[0]!;
    expect(server.isUp()).toBe(true);
    expect(server.counters.tcpNewConnections).toBeGreaterThanOrEqual(1);
    expect((await udpQuery(p.port, 'h.example'))?.answers?.[0]?.data).toBe('192.0.2.55');
  });

  it('setMaxIdleDoHConnectionsPerDownstream(0): no connection is kept idle, each query opens one', async () => {
    const p = await proxyWith(`${good()}, healthCheckMode="up"`, 'setMaxIdleDoHConnectionsPerDownstream(0)');
    const server = p.app.proxy.servers[0]!;
    for (let i = 0; i < 3; i++) expect((await udpQuery(p.port, `i${i}.example`))?.answers?.[0]?.data).toBe('192.0.2.55');
    expect(server.counters.tcpNewConnections).toBe(3);
    expect(server.counters.tcpReusedConnections).toBe(0);
    expect(server.dohPool?.connectionCount).toBe(0);
  });

  it('closes a connection idle for setDoHDownstreamMaxIdleTime at the next setDoHDownstreamCleanupInterval pass', async () => {
    const p = await proxyWith(`${good()}, healthCheckMode="up"`, 'setDoHDownstreamMaxIdleTime(1) setDoHDownstreamCleanupInterval(1)');
    const server = p.app.proxy.servers[0]!;
    expect((await udpQuery(p.port, 'idle1.example'))?.answers?.[0]?.data).toBe('192.0.2.55');
    expect(server.dohPool?.connectionCount).toBe(1);
    await waitFor('the idle connection closed', () => server.dohPool?.connectionCount === 0, 10_000);
    expect((await udpQuery(p.port, 'idle2.example'))?.answers?.[0]?.data).toBe('192.0.2.55');
    expect(server.counters.tcpNewConnections).toBe(2);
  });

  it('fails closed on a certificate that does not carry subjectName: no answer, counted, and the log says why', async () => {
    const p = await proxyWith(`tls="openssl", caStore="${pki.caCert}", subjectName="other.test", healthCheckMode="up"`);
    const server = p.app.proxy.servers[0]!;
    expect(await udpQuery(p.port, 'f.example', { timeoutMs: 1500 })).toBeUndefined();
    await waitFor('the failure logged', () => p.output.some((l) => l.includes('certificate validation failed')));
    expect(p.output.find((l) => l.includes('certificate validation failed'))).toMatch(
      new RegExp(
        `Error connecting to DoH backend 127\\.0\\.0\\.1:${dohPort}: certificate validation failed \\(Hostname/IP does not match certificate's altnames`,
      ),
    );
    expect(server.counters.tcpDiedSendingQuery).toBe(1);
    expect(server.counters.drops).toBe(1);
    expect(server.counters.responses).toBe(0);
  });

  it('marks a backend whose certificate is not trusted down after a DoH health check, and says why', async () => {
    const p = await proxyWith(`tls="openssl", subjectName="doh-backend.test"`);
    expect(p.app.proxy.servers[0]!.isUp()).toBe(false);
    expect(p.output.join('\n')).toMatch(
      /Downstream 127\.0\.0\.1:\d+ \(127\.0\.0\.1:\d+\): TLS connection failed: certificate validation failed/,
    );
  });

  it('with validateCertificates=false, accepts the certificate whatever its name', async () => {
    const p = await proxyWith(`tls="gnutls", subjectName="other.test", validateCertificates=false, healthCheckMode="up"`);
    expect((await udpQuery(p.port, 'g.example'))?.answers?.[0]?.data).toBe('192.0.2.55');
  });

  it('keeps setOutgoingDoHWorkerThreads from the configuration and refuses it at runtime', async () => {
    const p = await proxyWith(`${good()}, healthCheckMode="up"`, 'setOutgoingDoHWorkerThreads(2)');
    expect(p.app.proxy.settings.dohClient.workerThreads).toBe(2);
    expect(p.app.runConsoleCommand('setOutgoingDoHWorkerThreads(4)')).toContain('setOutgoingDoHWorkerThreads cannot be used at runtime!');
    expect(p.app.proxy.settings.dohClient.workerThreads).toBe(2);
    expect((await udpQuery(p.port, 'w.example'))?.answers?.[0]?.data).toBe('192.0.2.55');
  });

  it('refuses addXForwardedHeaders without dohPath, a relative dohPath and bad DoH tuning values, naming them', async () => {
    await expect(
      startProxy(`setLocal("127.0.0.1:\${PORT}") newServer{address="127.0.0.1:${dohPort}", addXForwardedHeaders=true}`),
    ).rejects.toThrow(/'addXForwardedHeaders' only applies to DNS over HTTPS backends: add dohPath="\/dns-query"/);
    await expect(
      startProxy(`setLocal("127.0.0.1:\${PORT}") newServer{address="127.0.0.1:${dohPort}", tls="openssl", dohPath="dns-query"}`),
    ).rejects.toThrow(/dohPath must be an absolute HTTP path such as "\/dns-query", got "dns-query"/);
    await expect(startProxy(`setLocal("127.0.0.1:\${PORT}") setMaxIdleDoHConnectionsPerDownstream(-1)`)).rejects.toThrow(
      /setMaxIdleDoHConnectionsPerDownstream: expected a number of idle connections kept per backend, 0 or more, got -1/,
    );
    await expect(startProxy(`setLocal("127.0.0.1:\${PORT}") setDoHDownstreamMaxIdleTime(70000)`)).rejects.toThrow(
      /setDoHDownstreamMaxIdleTime: expected a number of seconds between 0 and 65535, got 70000/,
    );
  });
});

const run = promisify(execFile);

describeRequires('a dnsdist-ts DoH frontend as the DoH backend of another, over plain HTTP/2', [kdig, opensslCli], () => {
  let pki: TestPki;
  let front: RunningProxy;
  let back: RunningProxy;
  let dotPort: number;
  let httpPort: number;

  beforeAll(async () => {
    pki = makeTestPki();
    const cert = pki.issue('doh.test', ['doh.test']);
    // The backend answers by what X-Forwarded-For/-Proto told it of the client.
    back = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       addDOHLocal("127.0.0.1:0", nil, nil, "/dns-query")
       addAction("tc.example.", LuaAction(function(dq) dq.dh:setTC(true) dq.dh:setQR(true) return DNSAction.HeaderModify end))
       addAction(HTTPHeaderRule("X-Forwarded-Proto", "^dns-over-https$"), SpoofAction("192.0.2.7"))
       addAction(HTTPHeaderRule("X-Forwarded-Proto", "^dns-over-udp$"), SpoofAction("192.0.2.8"))
       addAction(HTTPHeaderRule("X-Forwarded-Proto", "^dns-over-tls$"), SpoofAction("192.0.2.10"))
       addAction(HTTPHeaderRule("X-Forwarded-Proto", "^dns-over-http$"), SpoofAction("192.0.2.11"))
       addAction(AllRule(), SpoofAction("192.0.2.9"))`,
    );
    const backPort = back.app.proxy.dohFrontends[0]!.local.port;
    dotPort = await freePort();
    httpPort = await freePort();
    front = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       addDOHLocal("127.0.0.1:0", "${cert.chain}", "${cert.key}", "/dns-query")
       addTLSLocal("127.0.0.1:${dotPort}", "${cert.chain}", "${cert.key}")
       addDOHLocal("127.0.0.1:${httpPort}", nil, nil, "/dns-query")
       newServer{address="127.0.0.1:${backPort}", dohPath="/dns-query", addXForwardedHeaders=true}`,
    );
  });
  afterAll(async () => {
    await front?.stop();
    await back?.stop();
    pki?.remove();
  });

  it('is marked up by a health check over h2c, and forwards with the client transport: dns-over-https for a DoH client', async () => {
    const server = front.app.proxy.servers[0]!;
    expect(server.isUp()).toBe(true);
    const out = await kdigHttps(front.app.proxy.dohFrontends[0]!.local.port, 'chain.example', { ca: pki.caCert });
    expect(out).toMatch(/chain\.example\.\s+\d+\s+IN\s+A\s+192\.0\.2\.7/);
    expect((await udpQuery(front.port, 'chain2.example'))?.answers?.[0]?.data).toBe('192.0.2.8');
    expect(server.counters.responses).toBe(2);
  });

  it("passes a DoH client the backend's truncated answer as it is: a DoH backend is not asked again 'over TCP'", async () => {
    const server = front.app.proxy.servers[0]!;
    const before = server.counters.queries;
    const out = await kdigHttps(front.app.proxy.dohFrontends[0]!.local.port, 'tc.example', { ca: pki.caCert });
    expect(out).toMatch(/;; Flags: qr tc rd/);
    expect(server.counters.queries - before).toBe(1);
  });

  it('names DoT and plain-HTTP DoH clients dns-over-tls and dns-over-http in X-Forwarded-Proto', async () => {
    const { stdout } = await run(
      'kdig',
      [
        '@127.0.0.1',
        '-p',
        String(dotPort),
        '+tls',
        `+tls-ca=${pki.caCert}`,
        '+tls-hostname=doh.test',
        '+short',
        '+timeout=3',
        '+retry=0',
        'dot.example',
        'A',
      ],
      { timeout: 15_000 },
    );
    expect(stdout.trim()).toBe('192.0.2.10');
    const r = await curl(`http://127.0.0.1:${httpPort}/dns-query?dns=${dnsParam(encodeQuery('http.example'))}`, [
      '--http2-prior-knowledge',
    ]);
    expect(r.status).toBe(200);
    const answer = dnsPacket.decode(r.body) as { answers?: Array<{ data: unknown }> };
    expect(answer.answers?.[0]?.data).toBe('192.0.2.11');
  });
});
