/**
 * With two data-plane workers, the listeners' counters and every TCP/TLS
 * counter of a backend read as one process's at once (workers/live-counters.ts):
 * showBinds(), the API's frontends and servers and /metrics include every
 * query answered so far, in whichever worker, with no wait for a periodic
 * copy. The backend is Debian's dnsdist 1.7.3 as a DoT server.
 * The workers run the built code (dist/): `make` first.
 */
import { requireBuiltCli } from '../cli/cli-process.js';
import { freePort } from '../../../../test/support/free-port.js';
import { spawnDnsdist, type SpawnedDnsdist } from '../../../../test/support/dnsdist.js';
import { dnsdist, opensslCli } from '../../../../test/support/requirements.js';
import { describeRequires } from '../../../../test/support/require.js';
import { makeTestPki, type TestPki } from '../../../../test/support/tls-certificates.js';
import { encodeQuery, tcpQuery, udpQuery, waitFor } from '../support/dns-client.js';
import { waitForDnsdistAnswer } from '../support/dnsdist-ready.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

const HEADERS = { 'X-API-Key': 'test-key' };

describeRequires('listener and backend TCP counters read live across two data-plane workers', [dnsdist, opensslCli], () => {
  let pki: TestPki;
  let backend: SpawnedDnsdist;
  let proxy: RunningProxy;
  let web: number;

  const api = async (): Promise<{
    servers: Array<Record<string, number>>;
    frontends: Array<{ address: string; udp: boolean; tcp: boolean; queries: number; responses: number }>;
  }> => (await fetch(`http://127.0.0.1:${web}/api/v1/servers/localhost`, { headers: HEADERS })).json() as never;

  beforeAll(async () => {
    requireBuiltCli();
    pki = makeTestPki();
    const cert = pki.issue('backend.test', ['backend.test']);
    const tlsPort = await freePort();
    const plainPort = await freePort();
    backend = spawnDnsdist(
      `setLocal("127.0.0.1:${plainPort}")
       addTLSLocal("127.0.0.1:${tlsPort}", "${cert.chain}", "${cert.key}")
       addAction(AllRule(), SpoofAction("192.0.2.55"))`,
    );
    await waitForDnsdistAnswer(backend, plainPort, encodeQuery('probe.test'));
    web = await freePort();
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:${tlsPort}", checkName="probe.test.", tls="openssl", caStore="${pki.caCert}", subjectName="backend.test"}
       webserver("127.0.0.1:\${WEB}")
       setWebserverConfig({apiKey="test-key", acl="127.0.0.0/8"})`,
      { WEB: web },
      { workers: 2 },
    );
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await backend?.stop();
    pki?.remove();
  });

  it("one TCP query over a DoT backend: the API's server shows its new connection, open, at once", async () => {
    expect((await tcpQuery(proxy.port, 'tcp.example.')).answers?.[0]?.data).toBe('192.0.2.55');
    const server = (await api()).servers[0]!;
    expect(server).toMatchObject({ queries: 1, responses: 1, tcpNewConnections: 1, tcpReusedConnections: 0 });
    // The worker keeps its connection to the backend for the next query: it is open now, in that worker.
    expect(server['tcpCurrentConnections']).toBe(1);
    expect(server['tcpMaxConcurrentConnections']).toBe(1);
    expect(proxy.app.proxy.servers[0]!.tcpCurrentConnections).toBe(1);
  });

  it("a backend connection the backend closes leaves the API's current connections (the worker's gauge goes down)", async () => {
    // dnsdist 1.7.3 closes a DoT client connection idle for its TCP receive timeout (2 s): the worker retires it.
    await waitFor('the backend to close the idle connection', () => proxy.app.proxy.servers[0]!.tcpCurrentConnections === 0, 10_000);
    const server = (await api()).servers[0]!;
    expect(server['tcpCurrentConnections']).toBe(0);
    // The most at once stays.
    expect(server['tcpMaxConcurrentConnections']).toBe(1);
  });

  it("a listener's counters in showBinds(), the API and /metrics include every query of both workers at once", async () => {
    const udpN = 16;
    const tcpN = 8;
    const [udp, tcp] = await Promise.all([
      Promise.all(Array.from({ length: udpN }, (_, i) => udpQuery(proxy.port, `u${i}.example.`))),
      Promise.all(Array.from({ length: tcpN }, (_, i) => tcpQuery(proxy.port, `t${i}.example.`))),
    ]);
    expect(udp.map((a) => a?.answers?.[0]?.data)).toEqual(Array(udpN).fill('192.0.2.55'));
    expect(tcp.map((a) => a.answers?.[0]?.data)).toEqual(Array(tcpN).fill('192.0.2.55'));
    // No wait: each worker counted its queries and answers before it sent them.
    const binds = proxy.app.runConsoleCommand('showBinds()');
    expect(binds).toMatch(new RegExp(`^0 +127\\.0\\.0\\.1:${proxy.port} +UDP +${udpN}$`, 'm'));
    // The first test's TCP query came to this listener too.
    expect(binds).toMatch(new RegExp(`^1 +127\\.0\\.0\\.1:${proxy.port} +TCP +${tcpN + 1}$`, 'm'));
    const frontends = (await api()).frontends;
    expect(frontends.find((f) => f.udp)).toMatchObject({ queries: udpN, responses: udpN });
    expect(frontends.find((f) => f.tcp)).toMatchObject({ queries: tcpN + 1, responses: tcpN + 1 });
    const metrics = await (await fetch(`http://127.0.0.1:${web}/metrics`, { headers: HEADERS })).text();
    expect(metrics).toMatch(new RegExp(`^dnsdist_frontend_queries\\{[^}]*proto="UDP"[^}]*\\} ${udpN}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^dnsdist_frontend_responses\\{[^}]*proto="TCP"[^}]*\\} ${tcpN + 1}$`, 'm'));
    // Both workers answered some of them (else this would not test anything across workers).
    expect(proxy.app.workers!.status().every((w) => w.queries > 0)).toBe(true);
  });
});
