/**
 * addDNSCryptBind end to end: a DNSCrypt client (test/support/dnscrypt-client.ts,
 * written from the protocol) fetches the certificate over UDP,
 * checks the provider's signature, sends boxed queries over UDP and TCP
 * through the proxy to a real backend and opens the boxed answers; the
 * console rotates certificates as an operator would.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import sodium from 'libsodium-wrappers';
import type { DNSCryptCertificate } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-certificate.js';
import { dnscryptQuery, fetchDNSCryptCertificates } from '../support/dnscrypt-client.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

const PROVIDER = '2.provider.example';

const fetchCertificates = (port: number, providerPublicKey: Uint8Array): Promise<DNSCryptCertificate[]> =>
  fetchDNSCryptCertificates(port, PROVIDER, providerPublicKey);

describe('addDNSCryptBind', () => {
  let backend: TestBackend;
  let proxy: RunningProxy;
  let dir: string;
  let port: number;
  let providerPublicKey: Uint8Array;

  beforeAll(async () => {
    await sodium.ready;
    dir = mkdtempSync(join(tmpdir(), 'dts-dnscrypt-e2e-'));
    backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.53'));
    port = await freePort();
    const now = Math.floor(Date.now() / 1000);
    proxy = await startProxy(
      `generateDNSCryptProviderKeys("${dir}/p.pub", "${dir}/p.key")
generateDNSCryptCertificate("${dir}/p.key", "${dir}/r.cert", "${dir}/r.key", 42, ${now - 60}, ${now + 7200})
addDNSCryptBind("127.0.0.1:${port}", "${PROVIDER}", "${dir}/r.cert", "${dir}/r.key")
newServer{address="127.0.0.1:${backend.port}"}
addAction("proto.example.", LuaAction(function(dq) return DNSAction.Spoof, dq:getProtocol() == "DNSCrypt UDP" and "192.0.2.1" or "192.0.2.2" end))
`,
    );
    providerPublicKey = new Uint8Array(readFileSync(`${dir}/p.pub`));
  });

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the certificate query is answered in clear; boxed queries over UDP and TCP reach the backend and come back boxed', async () => {
    const [cert] = await fetchCertificates(port, providerPublicKey);
    expect(cert!.serial).toBe(42);
    for (const tcp of [false, true]) {
      const a = await dnscryptQuery(port, cert!, 'a.example', tcp);
      expect(a.id).toBe(0x4242);
      expect((a.answers![0] as dnsPacket.StringAnswer).data).toBe('192.0.2.53');
    }
    expect(((await dnscryptQuery(port, cert!, 'proto.example', false)).answers![0] as dnsPacket.StringAnswer).data).toBe('192.0.2.1');
    expect(((await dnscryptQuery(port, cert!, 'proto.example', true)).answers![0] as dnsPacket.StringAnswer).data).toBe('192.0.2.2');
  });

  test('the console reads and loads certificates: pairs, their state, a certificate file loaded, reloaded and refused twice', async () => {
    const now = Math.floor(Date.now() / 1000);
    const run = (c: string): Promise<string> => proxy.app.runConsoleCommandSliced(c);
    await run(`generateDNSCryptCertificate("${dir}/p.key", "${dir}/n.cert", "${dir}/n.key", 50, ${now - 60}, ${now + 600})`);
    await run(`getDNSCryptBind(0):loadNewCertificate("${dir}/n.cert", "${dir}/n.key", false)`);
    expect(
      await run('local p = getDNSCryptBind(0):getCertificatePairs() return #p, p[#p]:isActive(), p[#p]:getCertificate():getSerial()'),
    ).toBe(`${(await run('return #getDNSCryptBind(0):getCertificatePairs()')).trim()}\nfalse\n50\n`);
    expect((await fetchCertificates(port, providerPublicKey)).map((c) => c.serial)).not.toContain(50);
    expect(await run(`getDNSCryptBind(0):loadNewCertificate("${dir}/n.cert", "${dir}/n.key")`)).toMatch(/serial 50 is already loaded/);
    await run(`getDNSCryptBind(0):loadNewCertificate("${dir}/n.cert", "${dir}/n.key", true, true)`);
    expect((await fetchCertificates(port, providerPublicKey)).map((c) => c.serial)).toContain(50);
    const i = Number(await run('return #getDNSCryptBind(0):getCertificatePairs() - 1'));
    expect(await run(`return getDNSCryptBind(0):getCertificatePair(${i}):isActive()`)).toBe('true\n');
    expect(
      await run(
        `return getDNSCryptBind(0):getCertificate(${i}):getResolverPublicKey() == getDNSCryptBind(0):getCertificate(${i}):getClientMagic()`,
      ),
    ).toBe('false\n');
    expect(await run('return getDNSCryptBind(0):getCertificate(99)')).toMatch(/no certificate at index 99/);
    expect(await run('return getDNSCryptBind(7) == nil')).toBe('true\n');
    await run('getDNSCryptBind(0):markInactive(50)');
    await run('getDNSCryptBind(0):removeInactiveCertificate(50)');
    expect(await run('return #getDNSCryptBind(0):getCertificatePairs()')).toBe('1\n');
  });

  test('garbage, a forged box and a plain query for another name get no answer and break nothing', async () => {
    const [cert] = await fetchCertificates(port, providerPublicKey);
    const s = createSocket('udp4');
    const got: Buffer[] = [];
    s.on('message', (m) => got.push(m));
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    const forged = Buffer.concat([Buffer.from(cert!.clientMagic), Buffer.alloc(200, 0x55)]);
    const other = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'a.example' }] });
    for (const d of [Buffer.alloc(100, 0xff), forged, other]) s.send(d, port, '127.0.0.1');
    // A good query from the same socket afterwards: its answer is the only one that comes.
    const answered = await dnscryptQuery(port, cert!, 'a.example', false);
    expect((answered.answers![0] as dnsPacket.StringAnswer).data).toBe('192.0.2.53');
    s.close();
    expect(got).toEqual([]);
    const framed = Buffer.concat([Buffer.from([0, forged.length]), forged]);
    const closed = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => c.write(framed));
      c.on('data', () => resolve(false));
      c.on('close', () => resolve(true));
      c.on('error', () => undefined);
    });
    expect(closed).toBe(true);
  });

  test('a certificate generated in memory from the console is offered next to the first; an inactive one is no longer offered but still answers', async () => {
    const now = Math.floor(Date.now() / 1000);
    const [old] = await fetchCertificates(port, providerPublicKey);
    await proxy.app.runConsoleCommandSliced(
      `getDNSCryptBind(0):generateAndLoadInMemoryCertificate("${dir}/p.key", 43, ${now - 60}, ${now + 7200})`,
    );
    expect(await proxy.app.runConsoleCommandSliced('getDNSCryptBind(0):getCertificate(1):getSerial()')).toBe('43\n');
    expect((await fetchCertificates(port, providerPublicKey)).map((c) => c.serial)).toEqual([42, 43]);
    await proxy.app.runConsoleCommandSliced('getDNSCryptBind(0):markInactive(42)');
    expect((await fetchCertificates(port, providerPublicKey)).map((c) => c.serial)).toEqual([43]);
    expect(((await dnscryptQuery(port, old!, 'a.example', false)).answers![0] as dnsPacket.StringAnswer).data).toBe('192.0.2.53');
    expect(await proxy.app.runConsoleCommandSliced('getDNSCryptBind(0):removeInactiveCertificate(43)')).toMatch(
      /is active: markInactive\(43\) first/,
    );
    await proxy.app.runConsoleCommandSliced('getDNSCryptBind(0):removeInactiveCertificate(42)');
    // dnsdist 1.7.3's layouts of both tables.
    const addr = `127.0.0.1:${port}`;
    expect(await proxy.app.runConsoleCommandSliced('showDNSCryptBinds()')).toBe(
      `#   Address              Provider Name       \n0   ${addr.padEnd(20)} ${PROVIDER.padEnd(20)}\n`,
    );
    expect(await proxy.app.runConsoleCommandSliced('showBinds()')).toMatch(
      new RegExp(`\\n0   ${addr} +UDP \\(DNSCrypt\\) +[1-9]\\d*\\n1   ${addr} +TCP \\(DNSCrypt\\) +[1-9]\\d*\\n$`),
    );
    expect(await proxy.app.runConsoleCommandSliced(`printDNSCryptProviderFingerprint("${dir}/p.pub")`)).toMatch(
      /^Provider fingerprint is: ([0-9A-F]{4}:){15}[0-9A-F]{4}\n$/,
    );
  });
});

describe('addDNSCryptBind refuses bad input by name', () => {
  let dir: string;
  beforeAll(async () => {
    await sodium.ready;
    dir = mkdtempSync(join(tmpdir(), 'dts-dnscrypt-bad-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const keys = (): string => `generateDNSCryptProviderKeys("${dir}/p.pub", "${dir}/p.key")
generateDNSCryptCertificate("${dir}/p.key", "${dir}/r1.cert", "${dir}/r1.key", 1, 0, 4000000000)
generateDNSCryptCertificate("${dir}/p.key", "${dir}/r2.cert", "${dir}/r2.key", 2, 0, 4000000000, DNSCryptExchangeVersion.VERSION2)
`;

  // @D stands for the run's directory (the table is built before beforeAll runs).
  test.each([
    ['a key of another certificate', `"@D/r1.cert", "@D/r2.key"`, /r2.key' does not belong to the certificate/],
    ['a missing file', `"@D/none.cert", "@D/r1.key"`, /could not read the DNSCrypt certificate '.*none.cert'/],
    ['more certificates than keys', `{"@D/r1.cert", "@D/r2.cert"}, "@D/r1.key"`, /2 certificate file\(s\) but 1 key file\(s\)/],
    ['an unknown option', `"@D/r1.cert", "@D/r1.key", {doTcp=false}`, /unknown option 'doTcp'/],
  ])('%s', async (_what, args, error) => {
    await expect(
      startProxy(`${keys()}addDNSCryptBind("127.0.0.1:\${PORT}", "${PROVIDER}", ${args.replaceAll('@D', dir)})\n`),
    ).rejects.toThrow(error);
  });

  test('a version-2 (XChaCha20-Poly1305) certificate is offered and its boxes answered, next to a version-1 one', async () => {
    const backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.54'));
    const proxy = await startProxy(
      `${keys()}addDNSCryptBind("127.0.0.1:\${PORT}", "${PROVIDER}", {"${dir}/r1.cert", "${dir}/r2.cert"}, {"${dir}/r1.key", "${dir}/r2.key"}, {doTCP=false})
setLocal("127.0.0.1:0")
newServer{address="127.0.0.1:${backend.port}"}
`,
    );
    try {
      const port = proxy.app.proxy.dnscryptBinds[0]!.local.port;
      const certs = await fetchCertificates(port, new Uint8Array(readFileSync(`${dir}/p.pub`)));
      expect(certs.map((c) => [c.serial, c.version])).toEqual([
        [1, 1],
        [2, 2],
      ]);
      for (const cert of certs)
        expect(((await dnscryptQuery(port, cert, 'v.example', false)).answers![0] as dnsPacket.StringAnswer).data).toBe('192.0.2.54');
    } finally {
      await proxy.stop();
      await backend.close();
    }
  });

  test('maxConcurrentTCPConnections: a connection over the limit is closed at once, on either of two workers; once the first one goes, a new one is answered', async () => {
    const backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.55'));
    const proxy = await startProxy(
      `${keys()}addDNSCryptBind("127.0.0.1:\${PORT}", "${PROVIDER}", "${dir}/r1.cert", "${dir}/r1.key", {maxConcurrentTCPConnections=1})
newServer{address="127.0.0.1:${backend.port}"}
`,
      {},
      // The limit is the listener's in total: connections the kernel hands to the other worker count against it too.
      { workers: 2 },
    );
    const first = net.connect(proxy.app.proxy.dnscryptBinds[0]!.local.port, '127.0.0.1');
    try {
      const port = proxy.app.proxy.dnscryptBinds[0]!.local.port;
      const certificateQuery = dnsPacket.streamEncode({ type: 'query', id: 1, questions: [{ type: 'TXT', name: PROVIDER }] });
      // 'connect' only says the kernel finished the handshake; an answer says a worker accepted it and holds the slot.
      await new Promise((r) => first.once('connect', r));
      first.write(certificateQuery);
      await new Promise((r) => first.once('data', r));
      // Each from its own source port, spread over both workers' sockets; one answered (its certificate query) was let in.
      const closed = await Promise.all(
        Array.from(
          { length: 8 },
          () =>
            new Promise<boolean>((resolve) => {
              const c = net.connect(port, '127.0.0.1', () => c.write(certificateQuery));
              c.on('data', () => {
                resolve(false);
                c.destroy();
              });
              c.on('close', () => resolve(true));
              c.on('error', () => undefined);
            }),
        ),
      );
      expect(closed).toEqual(Array(8).fill(true));
      first.destroy();
      await new Promise((r) => first.once('close', r));
      const [cert] = await fetchCertificates(port, new Uint8Array(readFileSync(`${dir}/p.pub`)));
      // The worker that held the first connection gives its slot back once it has seen the close, which
      // the client's own close event does not wait for: until then a new connection is still over the limit.
      const deadline = Date.now() + 3000;
      let answer: dnsPacket.Packet | undefined;
      while (!answer) {
        try {
          answer = await dnscryptQuery(port, cert!, 'limit.example', true);
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      expect((answer.answers![0] as dnsPacket.StringAnswer).data).toBe('192.0.2.55');
    } finally {
      first.destroy();
      await proxy.stop();
      await backend.close();
    }
  });
});
