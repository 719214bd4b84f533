/**
 * TCP Fast Open, checked with the kernel's own counters in a private
 * network namespace (net.ipv4.tcp_fastopen=3 there, client and server):
 * addLocal's tcpFastOpenQueueSize makes the listener accept data on the
 * SYN (TcpExtTCPFastOpenPassive), a listener without it never does;
 * newServer{tcpFastOpen=true} sends queries on the SYN of its backend
 * connections (TcpExtTCPFastOpenActive), a backend without it never does.
 * One process is both: clients from 127.0.0.2 and 127.0.0.3 are forwarded
 * over TCP to its own Fast Open listener, which answers everyone else.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeRequires, requirement } from '../../../../test/support/require.js';
import { kdig, opensslCli } from '../../../../test/support/requirements.js';
import { makeTestPki, type TestPki } from '../../../../test/support/tls-certificates.js';
import { startInPrivateNamespaces, type PrivateNamespace } from '../../../../test/support/private-namespaces.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../../..');

const fastOpenNamespace = requirement('a private network namespace with TCP Fast Open (root, unshare, sysctl, nstat)', 'bpf', () => {
  if (process.getuid?.() !== 0) return 'not running as root';
  const r = spawnSync(
    '/usr/bin/unshare',
    ['-n', '--', 'sh', '-c', 'sysctl -qw net.ipv4.tcp_fastopen=3 && nstat -saz TcpExtTCPFastOpenPassive'],
    {
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  if (r.error) return `/usr/bin/unshare could not run (apt-get install util-linux): ${r.error.message}`;
  if (r.status !== 0) return `setting net.ipv4.tcp_fastopen in a private namespace or reading nstat failed: ${r.stderr.trim()}`;
  return undefined;
});

describeRequires('TCP Fast Open (tcpFastOpenQueueSize), by the kernel counters', [fastOpenNamespace, kdig, opensslCli], () => {
  let ns: PrivateNamespace;
  let dir: string;
  let pki: TestPki;

  const counter = async (name: string): Promise<number> => {
    const r = await ns.exec('nstat', ['-saz', name]);
    const m = new RegExp(`^${name}\\s+(\\d+)`, 'm').exec(r.stdout);
    if (!m) throw new Error(`nstat printed no ${name}: ${r.stdout}${r.stderr}`);
    return Number(m[1]);
  };
  /** One query over TCP with Fast Open on kdig's side; the first to a server fetches the cookie, later ones send data on the SYN. */
  const query = async (port: number, source = '127.0.0.1', fastOpen = true): Promise<void> => {
    const r = await ns.exec('kdig', [
      '-b',
      source,
      '+tcp',
      fastOpen ? '+fastopen' : '+nofastopen',
      '+short',
      '+timeout=3',
      '@127.0.0.1',
      '-p',
      String(port),
      'tfo.example.',
    ]);
    expect(r.stdout.trim()).toBe('192.0.2.1');
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dts-tfo-'));
    pki = makeTestPki();
    const cert = pki.issue('tfo.test', ['tfo.test']);
    const conf = join(dir, 'dnsdist.conf');
    writeFileSync(
      conf,
      `addLocal("127.0.0.1:5301", {tcpFastOpenQueueSize=16})
addLocal("127.0.0.1:5302")
addTLSLocal("127.0.0.1:5304", "${cert.chain}", "${cert.key}", {tcpFastOpenQueueSize=16})
addDOHLocal("127.0.0.1:5305", "${cert.chain}", "${cert.key}", "/dns-query", {tcpFastOpenQueueSize=16})
setMaxTCPQueriesPerConnection(1)
newServer{address="127.0.0.1:5301", pool="tfo", tcpOnly=true, tcpFastOpen=true, healthCheckMode="up"}
newServer{address="127.0.0.1:5301", pool="plain", tcpOnly=true, healthCheckMode="up"}
newServer{address="127.0.0.1:5304", pool="tfotls", tls="openssl", subjectName="tfo.test", caStore="${pki.caCert}", tcpFastOpen=true, healthCheckMode="up"}
newServer{address="127.0.0.1:5304", pool="tls", tls="openssl", subjectName="tfo.test", caStore="${pki.caCert}", healthCheckMode="up"}
addAction(NetmaskGroupRule("127.0.0.2/32"), PoolAction("tfo"))
addAction(NetmaskGroupRule("127.0.0.4/32"), PoolAction("tfotls"))
newServer{address="127.0.0.1:5304", pool="tfobad", tls="openssl", subjectName="other.test", caStore="${pki.caCert}", tcpFastOpen=true, healthCheckMode="up"}
addAction(NetmaskGroupRule("127.0.0.5/32"), PoolAction("tls"))
addAction(NetmaskGroupRule("127.0.0.6/32"), PoolAction("tfobad"))
addAction(NetmaskGroupRule("127.0.0.3/32"), PoolAction("plain"))
addAction(AllRule(), SpoofAction("192.0.2.1"))
`,
    );
    ns = startInPrivateNamespaces(['sh', '-c', `sysctl -qw net.ipv4.tcp_fastopen=3 && exec bin/dnsdist-ts --supervised -C ${conf}`], {
      bpffs: 'none',
      cwd: REPO,
    });
    await ns.waitForOutput(/Listening on 127\.0\.0\.1:5302/);
  });

  afterAll(async () => {
    await ns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    pki?.remove();
  });

  it('a listener without tcpFastOpenQueueSize takes no data on the SYN', async () => {
    const before = await counter('TcpExtTCPFastOpenPassive');
    for (let i = 0; i < 3; i++) await query(5302);
    expect(await counter('TcpExtTCPFastOpenPassive')).toBe(before);
  });

  it('addLocal(addr, {tcpFastOpenQueueSize=16}) accepts queries sent on the SYN once the client has its cookie', async () => {
    const before = await counter('TcpExtTCPFastOpenPassive');
    for (let i = 0; i < 3; i++) await query(5301);
    // The first connection fetches the cookie; the next two carry their query on the SYN.
    expect((await counter('TcpExtTCPFastOpenPassive')) - before).toBe(2);
  });

  it('newServer{tcpFastOpen=true} sends its queries on the SYN of new backend connections; a backend without it does not', async () => {
    // setMaxTCPQueriesPerConnection(1): the listener closes each backend connection after its answer, so every query opens one.
    const before = await counter('TcpExtTCPFastOpenActive');
    for (let i = 0; i < 3; i++) await query(5302, '127.0.0.3', false);
    expect(await counter('TcpExtTCPFastOpenActive')).toBe(before);
    for (let i = 0; i < 3; i++) await query(5302, '127.0.0.2', false);
    // The cookie for 127.0.0.1 may be held already (the kernel keeps it per destination): two or three on the SYN.
    expect((await counter('TcpExtTCPFastOpenActive')) - before).toBeGreaterThanOrEqual(2);
  });

  it('newServer{tls=…, tcpFastOpen=true} sends the TLS ClientHello on the SYN of new backend connections, the certificate checked; without tcpFastOpen it does not', async () => {
    // The proxy's own DoT listener (tcpFastOpenQueueSize=16, one query per connection) is the TLS backend.
    const before = await counter('TcpExtTCPFastOpenActive');
    for (let i = 0; i < 3; i++) await query(5302, '127.0.0.5', false);
    expect(await counter('TcpExtTCPFastOpenActive')).toBe(before);
    for (let i = 0; i < 3; i++) await query(5302, '127.0.0.4', false);
    expect((await counter('TcpExtTCPFastOpenActive')) - before).toBeGreaterThanOrEqual(2);
    // A certificate that does not name the backend still fails the connection: no answer, and the log says why.
    const bad = await ns.exec('kdig', ['-b', '127.0.0.6', '+tcp', '+nofastopen', '+timeout=3', '@127.0.0.1', '-p', '5302', 'tfo.example.']);
    expect(bad.stdout).not.toMatch(/192\.0\.2\.1/);
    expect(ns.output()).toMatch(/Error connecting to TLS backend 127\.0\.0\.1:5304: .*other\.test/);
  });

  it('addTLSLocal and addDOHLocal with tcpFastOpenQueueSize take the TLS ClientHello on the SYN', async () => {
    // kdig fails a TLS handshake on a connection that only fetches a cookie (Debian's dnsdist 1.7.3 sees
    // the same), so answers are not required of every connection; the kernel's counter is the check.
    for (const transport of ['+tls', '+https']) {
      const before = await counter('TcpExtTCPFastOpenPassive');
      const port = transport === '+tls' ? '5304' : '5305';
      const answers: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await ns.exec('kdig', [transport, '+fastopen', '+short', '+timeout=3', '@127.0.0.1', '-p', port, 'tfo.example.']);
        answers.push(r.stdout.trim());
      }
      expect(answers.filter((a) => a === '192.0.2.1').length).toBeGreaterThanOrEqual(2);
      expect((await counter('TcpExtTCPFastOpenPassive')) - before).toBeGreaterThanOrEqual(2);
    }
  });
});
