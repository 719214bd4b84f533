/**
 * Backends over TLS (newServer{tls=…}) against Debian's dnsdist 1.7.3 as the
 * DoT server: UDP and TCP queries go over TLS, connections are reused and
 * sessions resumed, and a certificate that does not check out stops the
 * traffic and is named in the log.
 */
import { freePort } from '../../../../test/support/free-port.js';
import { spawnDnsdist, type SpawnedDnsdist } from '../../../../test/support/dnsdist.js';
import { dnsdist, opensslCli } from '../../../../test/support/requirements.js';
import { describeRequires } from '../../../../test/support/require.js';
import { makeTestPki, type TestPki } from '../../../../test/support/tls-certificates.js';
import { encodeQuery, tcpQuery, udpQuery, waitFor } from '../support/dns-client.js';
import { waitForDnsdistAnswer } from '../support/dnsdist-ready.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

describeRequires('backends over TLS (newServer{tls=…}) to dnsdist 1.7.3', [dnsdist, opensslCli], () => {
  let pki: TestPki;
  let backend: SpawnedDnsdist;
  let tlsPort: number;
  const proxies: RunningProxy[] = [];

  beforeAll(async () => {
    pki = makeTestPki();
    const cert = pki.issue('backend.test', ['backend.test']);
    tlsPort = await freePort();
    const plainPort = await freePort();
    backend = spawnDnsdist(
      `setLocal("127.0.0.1:${plainPort}")
       addTLSLocal("127.0.0.1:${tlsPort}", "${cert.chain}", "${cert.key}")
       addAction(AllRule(), SpoofAction("192.0.2.55"))`,
    );
    await waitForDnsdistAnswer(backend, plainPort, encodeQuery('probe.test'));
  });
  afterAll(async () => {
    for (const p of proxies) await p.stop();
    await backend?.stop();
    pki?.remove();
  });

  const proxyWith = async (serverOptions: string): Promise<RunningProxy> => {
    const p = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:${tlsPort}", checkName="probe.test.", ${serverOptions}}`,
    );
    proxies.push(p);
    return p;
  };

  it('sends UDP and TCP queries over TLS, one connection reused for all', async () => {
    const p = await proxyWith(`tls="openssl", caStore="${pki.caCert}", subjectName="backend.test"`);
    const server = p.app.proxy.servers[0]!;
    expect(server.isUp()).toBe(true);
    expect((await udpQuery(p.port, 'a.example'))?.answers?.[0]?.data).toBe('192.0.2.55');
    expect((await tcpQuery(p.port, 'b.example')).answers?.[0]?.data).toBe('192.0.2.55');
    expect((await udpQuery(p.port, 'c.example'))?.answers?.[0]?.data).toBe('192.0.2.55');
    expect(server.counters.tcpNewConnections).toBe(1);
    expect(server.counters.tcpReusedConnections).toBe(2);
  });

  it('counts resumed sessions in tlsResumptions (the health checks and queries share the session)', async () => {
    const p = await proxyWith(`tls="openssl", caStore="${pki.caCert}", subjectName="backend.test"`);
    const server = p.app.proxy.servers[0]!;
    expect((await udpQuery(p.port, 'd.example'))?.answers?.[0]?.data).toBe('192.0.2.55');
    // The backend closes idle connections after its TCP receive timeout; the next query reconnects and resumes.
    await waitFor('backend closed the idle connection', () => server.tcpPool.connectionCount === 0, 10_000);
    expect((await udpQuery(p.port, 'e.example'))?.answers?.[0]?.data).toBe('192.0.2.55');
    expect(server.counters.tlsResumptions).toBeGreaterThanOrEqual(1);
  });

  it('fails closed on a certificate that does not carry subjectName, and the log says why', async () => {
    const p = await proxyWith(`tls="openssl", caStore="${pki.caCert}", subjectName="other.test", healthCheckMode="up"`);
    expect(await udpQuery(p.port, 'f.example', { timeoutMs: 1500 })).toBeUndefined();
    await waitFor('the failure logged', () => p.output.some((l) => l.includes('certificate validation failed')));
    expect(p.output.find((l) => l.includes('certificate validation failed'))).toMatch(
      new RegExp(
        `Error connecting to TLS backend 127\\.0\\.0\\.1:${tlsPort}: certificate validation failed \\(Hostname/IP does not match certificate's altnames`,
      ),
    );
  });

  it('marks a backend with an untrusted certificate down and says why', async () => {
    const p = await proxyWith(`tls="openssl", subjectName="backend.test"`);
    expect(p.app.proxy.servers[0]!.isUp()).toBe(false);
    expect(p.output.join('\n')).toMatch(
      /Downstream 127\.0\.0\.1:\d+ \(127\.0\.0\.1:\d+\): TLS connection failed: certificate validation failed/,
    );
  });

  it('with validateCertificates=false, accepts the certificate whatever its name', async () => {
    const p = await proxyWith(`tls="gnutls", subjectName="other.test", validateCertificates=false`);
    expect((await udpQuery(p.port, 'g.example'))?.answers?.[0]?.data).toBe('192.0.2.55');
  });

  it('refuses TLS options without tls=, an unreadable caStore and an unknown provider, naming them', async () => {
    await expect(proxyWith(`subjectName="backend.test"`)).rejects.toThrow(/'subjectName' only apply to TLS backends: add tls="openssl"/);
    await expect(proxyWith(`tls="openssl", caStore="/nonexistent/ca.pem"`)).rejects.toThrow(
      /unable to read the CA store '\/nonexistent\/ca\.pem'/,
    );
    await expect(proxyWith(`tls="wolfssl"`)).rejects.toThrow(/unknown TLS provider 'wolfssl'/);
  });
});
