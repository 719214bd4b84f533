/**
 * DNS over TLS frontends (addTLSLocal) with real TLS clients: kdig +tls,
 * openssl s_client and Node's TLS client, on certificates made for the run.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { promisify } from 'node:util';
import * as dnsPacket from 'dns-packet';
import { kdig, opensslCli } from '../../../../test/support/requirements.js';
import { describeRequires } from '../../../../test/support/require.js';
import { makeTestPki, type TestPki } from '../../../../test/support/tls-certificates.js';
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { frontendsJson } from '@dnsdist-ts/web/web/api-status-json.js';
import { encodeQuery, waitFor } from '../support/dns-client.js';
import { startDemo, startProxy, type RunningProxy } from '../support/proxy-harness.js';

const run = promisify(execFile);

/** kdig over TLS, validating the proxy's certificate against the run's CA. */
async function kdigTls(port: number, pki: TestPki, name: string, sni = 'dot.test'): Promise<string> {
  const { stdout } = await run(
    'kdig',
    [
      `@127.0.0.1`,
      '-p',
      String(port),
      '+tls',
      `+tls-ca=${pki.caCert}`,
      `+tls-hostname=${sni}`,
      `+tls-sni=${sni}`,
      '+short',
      '+timeout=3',
      '+retry=0',
      name,
      'A',
    ],
    { timeout: 15_000 },
  );
  return stdout.trim();
}

/** One DoT exchange with Node's TLS client; resolves with the answer, the certificate served and the session. */
function nodeDot(
  port: number,
  pki: TestPki,
  name: string,
  opts: { session?: Buffer; servername?: string; maxVersion?: tls.SecureVersion } = {},
): Promise<{ answer: dnsPacket.Packet; serial: string; reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const sock = tls.connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(pki.caCert),
      servername: opts.servername ?? 'dot.test',
      ...(opts.session ? { session: opts.session } : {}),
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
    });
    sock.on('session', (s: Buffer) => (session = s));
    sock.setTimeout(5000, () => sock.destroy(new Error('timeout')));
    sock.on('error', reject);
    let buf = Buffer.alloc(0);
    sock.on('secureConnect', () => {
      const q = encodeQuery(name);
      const frame = Buffer.alloc(q.length + 2);
      frame.writeUInt16BE(q.length, 0);
      q.copy(frame, 2);
      sock.write(frame);
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const answer = dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        const serial = sock.getPeerCertificate().serialNumber;
        const reused = sock.isSessionReused();
        // TLS 1.3 tickets arrive after the handshake: give them a moment before closing.
        setTimeout(() => {
          sock.end();
          resolve({ answer, serial, reused, session });
        }, 50);
      }
    });
  });
}

function firstA(p: dnsPacket.Packet): unknown {
  const a = p.answers?.find((x) => x.type === 'A');
  return a && 'data' in a ? a.data : undefined;
}

describeRequires('DoT frontends (addTLSLocal)', [kdig, opensslCli], () => {
  let pki: TestPki;
  let demo: DemoServer;
  let proxy: RunningProxy;
  let cert: { chain: string; key: string };

  beforeAll(async () => {
    pki = makeTestPki();
    cert = pki.issue('dot.test', ['dot.test', 'sni.test']);
    demo = await startDemo();
    proxy = await startProxy(
      `newServer{address="127.0.0.1:\${DEMO}", checkName="example.test."}
       addTLSLocal("127.0.0.1:\${PORT}", "\${CERT}", "\${KEY}", { provider="gnutls", numberOfTicketsKeys=3, minTLSVersion="tls1.2" })
       addAction(SNIRule("sni.test"), SpoofAction("192.0.2.99"))
       function sniTag(dq)
         if dq:getServerNameIndication() == "dot.test" and dq:getProtocol() == "DNS over TLS" then
           return DNSAction.Spoof, "192.0.2.77"
         end
         return DNSAction.None
       end
       addAction("lua.example.test.", LuaAction(sniTag))`,
      { DEMO: demo.port, CERT: cert.chain, KEY: cert.key },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await demo?.close();
    pki?.remove();
  });

  it('answers kdig +tls through the backend, with a certificate the client validates', async () => {
    expect(await kdigTls(proxy.port, pki, 'www.example.test')).toBe('192.0.2.10');
  });

  it('routes on the SNI with SNIRule, and dq:getServerNameIndication() / dq:getProtocol() see it', async () => {
    expect(await kdigTls(proxy.port, pki, 'www.example.test', 'sni.test')).toBe('192.0.2.99');
    expect(await kdigTls(proxy.port, pki, 'lua.example.test', 'dot.test')).toBe('192.0.2.77');
  });

  it('still sees the SNI on a resumed TLS 1.2 session (OpenSSL itself does not report it then)', async () => {
    const first = await nodeDot(proxy.port, pki, 'www.example.test', { servername: 'sni.test', maxVersion: 'TLSv1.2' });
    expect(firstA(first.answer)).toBe('192.0.2.99');
    const again = await nodeDot(proxy.port, pki, 'www.example.test', {
      servername: 'sni.test',
      maxVersion: 'TLSv1.2',
      session: first.session!,
    });
    expect(again.reused).toBe(true);
    expect(firstA(again.answer)).toBe('192.0.2.99');
  });

  it('counts queries by TLS version, new sessions and resumptions, in the API frontends list as dnsdist names them', async () => {
    const running = proxy.app.proxy.tlsFrontends[0]!;
    const before = running.tls.counters.queriesByVersion[3]!;
    await kdigTls(proxy.port, pki, 'www.example.test');
    const json = frontendsJson(proxy.app.proxy.frontends, proxy.app.proxy.tlsFrontends).find((f) => f['type'] === 'TCP (DNS over TLS)')!;
    expect(json['tls13Queries']).toBe(before + 1);
    expect(json['tlsNewSessions']).toBeGreaterThan(0);
    expect(json['tlsResumptions']).toBeGreaterThan(0);
    expect(json).toHaveProperty('tlsHandshakeFailuresNoSharedCipher', 0);
    const text = (await proxy.app.web.metrics.renderBytes()).toString();
    expect(text).toMatch(
      new RegExp(
        `dnsdist_frontend_tlsqueries\\{frontend="127.0.0.1:${proxy.port}",proto="TCP \\(DNS over TLS\\)",thread="0",tls="tls13"\\} ${before + 1}\\n`,
      ),
    );
    expect(text).toMatch(/dnsdist_frontend_tlshandshakefailures\{[^}]*error="unsupportedProtocol"\} 0\n/);
  });

  it('counts a TLS 1.1 client refused by minTLSVersion="tls1.2" as an unsupportedProtocol handshake failure', async () => {
    const counters = proxy.app.proxy.tlsFrontends[0]!.tls.counters;
    const before = counters.handshakeFailures.get('unsupportedProtocol')!;
    await expect(
      run('openssl', ['s_client', '-connect', `127.0.0.1:${proxy.port}`, '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'], { timeout: 15_000 }),
    ).rejects.toThrow();
    expect(counters.handshakeFailures.get('unsupportedProtocol')).toBe(before + 1);
  });

  it('closes a connection that sends plain DNS, or nothing, to the TLS port, and goes on serving', async () => {
    const closed = (send: Buffer | undefined): Promise<void> =>
      new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: proxy.port }, () => {
          if (send) s.write(send);
        });
        s.on('data', () => undefined);
        s.on('error', () => undefined);
        s.on('close', () => resolve());
        setTimeout(() => reject(new Error('still open after 10 s')), 10_000).unref();
      });
    const q = encodeQuery('www.example.test');
    const framed = Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
    // Plain DNS is not a ClientHello: the handshake fails at once. Silence lasts until the TCP receive timeout (2 s).
    await Promise.all([closed(framed), closed(undefined), closed(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00]))]);
    expect(await kdigTls(proxy.port, pki, 'www.example.test')).toBe('192.0.2.10');
    await waitFor('the connections counted closed', () => proxy.app.proxy.tlsFrontends[0]!.tcp.currentConnections === 0);
  });

  it('says getBind(0):getEffectiveTLSProvider() is the provider asked for', () => {
    expect(proxy.app.runConsoleCommand('getBind(0):getEffectiveTLSProvider()')).toBe('gnutls\n');
    expect(proxy.app.runConsoleCommand('getTLSFrontendCount()')).toBe('1\n');
    expect(proxy.app.runConsoleCommand('showBinds()')).toContain('TCP (DNS over TLS)');
  });

  it('resumes sessions across rotations while the ticket key is kept, not once it was rotated out', async () => {
    const first = await nodeDot(proxy.port, pki, 'www.example.test');
    expect(first.reused).toBe(false);
    const resumed = await nodeDot(proxy.port, pki, 'www.example.test', { session: first.session! });
    expect(resumed.reused).toBe(true);
    // numberOfTicketsKeys=3: two rotations keep the key of `first`'s ticket.
    proxy.app.runConsoleCommand('getTLSContext(0):rotateTicketsKey()');
    proxy.app.runConsoleCommand('getTLSFrontend(0):rotateTicketsKey()');
    const afterTwo = await nodeDot(proxy.port, pki, 'www.example.test', { session: first.session! });
    expect(afterTwo.reused).toBe(true);
    const keys = proxy.app.proxy.tlsFrontendConfigs[0]!.tls.ticketKeys;
    expect(keys.inactiveTicketKeys).toBeGreaterThan(0);
    proxy.app.runConsoleCommand('getTLSContext(0):rotateTicketsKey()');
    const unknownBefore = keys.unknownTicketKeys;
    const afterThree = await nodeDot(proxy.port, pki, 'www.example.test', { session: first.session! });
    expect(afterThree.reused).toBe(false);
    expect(keys.unknownTicketKeys).toBe(unknownBefore + 1);
  });

  it('loads ticket keys from a dnsdist key file (80-byte records) and refuses a file of the wrong size', async () => {
    const file = join(pki.dir, 'tickets.key');
    writeFileSync(file, Buffer.alloc(160, 7));
    expect(proxy.app.runConsoleCommand(`getTLSContext(0):loadTicketsKeys("${file}")`)).toBe('');
    const first = await nodeDot(proxy.port, pki, 'www.example.test');
    // Loading the same file again keeps its keys: the ticket still resumes.
    proxy.app.runConsoleCommand(`getTLSContext(0):loadTicketsKeys("${file}")`);
    expect((await nodeDot(proxy.port, pki, 'www.example.test', { session: first.session! })).reused).toBe(true);
    const bad = join(pki.dir, 'short.key');
    writeFileSync(bad, Buffer.alloc(79));
    expect(proxy.app.runConsoleCommand(`getTLSContext(0):loadTicketsKeys("${bad}")`)).toMatch(
      /holds 79 bytes, not a whole number of 80-byte keys/,
    );
  });

  it('serves a new certificate to new connections after reloadAllCertificates(), and keeps the old one when the new files are broken', async () => {
    const before = (await nodeDot(proxy.port, pki, 'www.example.test')).serial;
    const next = pki.issue('dot.test', ['dot.test', 'sni.test']);
    writeFileSync(cert.chain, readFileSync(next.chain));
    writeFileSync(cert.key, readFileSync(next.key));
    expect(proxy.app.runConsoleCommand('reloadAllCertificates()')).toBe('');
    const after = (await nodeDot(proxy.port, pki, 'www.example.test')).serial;
    expect(after).not.toBe(before);
    writeFileSync(cert.key, 'not a key');
    expect(proxy.app.runConsoleCommand('reloadAllCertificates()')).toMatch(
      /Error reloading certificates for frontend 127\.0\.0\.1:\d+: the key file '.*' holds no PEM private key/,
    );
    expect((await nodeDot(proxy.port, pki, 'www.example.test')).serial).toBe(after);
    writeFileSync(cert.key, readFileSync(next.key));
  });
});

describeRequires('DoT frontends: OCSP stapling', [opensslCli], () => {
  let pki: TestPki;
  let proxy: RunningProxy;

  beforeAll(async () => {
    pki = makeTestPki();
    const cert = pki.issue('ocsp.test', ['ocsp.test']);
    const ocsp = join(pki.dir, 'server.ocsp');
    proxy = await startProxy(
      `generateOCSPResponse("\${CERT}", "\${CA}", "\${CAKEY}", "\${OCSP}", 1, 0)
       addTLSLocal("127.0.0.1:\${PORT}", "\${CHAIN}", "\${KEY}", { ocspResponses={"\${OCSP}"} })`,
      { CERT: cert.cert, CHAIN: cert.chain, KEY: cert.key, CA: pki.caCert, CAKEY: pki.caKey, OCSP: ocsp },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    pki?.remove();
  });

  it('staples the response generateOCSPResponse made, which openssl s_client -status reads as successful', async () => {
    const { stdout } = await run(
      'sh',
      ['-c', `openssl s_client -connect 127.0.0.1:${proxy.port} -servername ocsp.test -CAfile ${pki.caCert} -status < /dev/null`],
      {
        timeout: 15_000,
      },
    );
    expect(stdout).toContain('OCSP Response Status: successful (0x0)');
    expect(stdout).toContain('Cert Status: good');
  });
});

describe('addTLSLocal refuses what it cannot use, naming it', () => {
  let pki: TestPki;
  let certs: { chain: string; key: string };
  beforeAll(() => {
    pki = makeTestPki();
    certs = pki.issue('bad.test', ['bad.test']);
  });
  afterAll(() => pki?.remove());

  const fails = async (line: string): Promise<string> => {
    const err = await startProxy(line).then(
      async (p) => {
        await p.stop();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    return err!.message;
  };

  it('a certificate file that does not exist', async () => {
    expect(await fails(`addTLSLocal("127.0.0.1:\${PORT}", "/nonexistent/cert.pem", "${certs.key}")`)).toMatch(
      /addTLSLocal: unable to read the certificate file '\/nonexistent\/cert\.pem'/,
    );
  });

  it('a key that does not belong to the certificate', async () => {
    const other = pki.issue('other.test', ['other.test']);
    expect(await fails(`addTLSLocal("127.0.0.1:\${PORT}", "${certs.chain}", "${other.key}")`)).toMatch(
      /unable to use the certificate and key .*key values mismatch/,
    );
  });

  it('an unknown option, a bad minTLSVersion, more certificates than keys, reusePort, two certificates of one key type', async () => {
    expect(await fails(`addTLSLocal("127.0.0.1:\${PORT}", "${certs.chain}", "${certs.key}", { sessionTicket=false })`)).toMatch(
      /unknown option 'sessionTicket'/,
    );
    expect(await fails(`addTLSLocal("127.0.0.1:\${PORT}", "${certs.chain}", "${certs.key}", { minTLSVersion="tls1.4" })`)).toMatch(
      /unknown minTLSVersion 'tls1.4'/,
    );
    expect(await fails(`addTLSLocal("127.0.0.1:\${PORT}", {"${certs.chain}", "${certs.chain}"}, "${certs.key}")`)).toMatch(
      /2 certificate file\(s\) but 1 key file\(s\)/,
    );
    expect(await fails(`addTLSLocal("127.0.0.1:\${PORT}", "${certs.chain}", "${certs.key}", { reusePort=true })`)).toMatch(
      /reusePort is not available for TLS listeners/,
    );
    expect(await fails(`addTLSLocal("127.0.0.1:\${PORT}", "${certs.chain}", "${certs.key}", { provider="boringssl" })`)).toMatch(
      /unknown TLS provider 'boringssl'/,
    );
    const second = pki.issue('bad.test', ['bad.test']);
    expect(
      await fails(`addTLSLocal("127.0.0.1:\${PORT}", {"${certs.chain}", "${second.chain}"}, {"${certs.key}", "${second.key}"})`),
    ).toMatch(/both have ec keys: one certificate per key type \(RSA, ECDSA, Ed25519\) can be served/);
  });
});

describeRequires('DoT frontends: ciphers, key log, ticket key file and its rotation, new certificate files', [opensslCli], () => {
  let pki: TestPki;
  let proxy: RunningProxy;
  let keyLog: string;
  let tickets: string;

  beforeAll(async () => {
    pki = makeTestPki();
    const cert = pki.issue('dot.test', ['dot.test']);
    keyLog = join(pki.dir, 'keys.log');
    tickets = join(pki.dir, 'tickets.key');
    writeFileSync(tickets, Buffer.alloc(80, 1));
    proxy = await startProxy(
      `addTLSLocal("127.0.0.1:\${PORT}", "\${CERT}", "\${KEY}", { ciphersTLS13="TLS_CHACHA20_POLY1305_SHA256", keyLogFile="\${KEYLOG}",
         ticketKeyFile="\${TICKETS}", ticketsKeysRotationDelay=60, numberOfTicketsKeys=2 })
       addAction(AllRule(), SpoofAction("192.0.2.1"))`,
      { CERT: cert.chain, KEY: cert.key, KEYLOG: keyLog, TICKETS: tickets },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    pki?.remove();
  });

  const cipher = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: proxy.port, ca: readFileSync(pki.caCert), servername: 'dot.test' }, () => {
        resolve(s.getCipher().name);
        s.end();
      });
      s.on('error', reject);
    });

  it('negotiates only the TLS 1.3 suites of ciphersTLS13', async () => {
    expect(await cipher()).toBe('TLS_CHACHA20_POLY1305_SHA256');
  });

  it('appends the secrets of each handshake to keyLogFile', async () => {
    await nodeDot(proxy.port, pki, 'www.example.test');
    const read = (): string => (existsSync(keyLog) ? readFileSync(keyLog, 'utf8') : '');
    await waitFor('the key log written', () => /CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]+\n/.test(read()));
  });

  it('takes its ticket keys from ticketKeyFile, and reloads the file at each rotation', async () => {
    const ctx = proxy.app.proxy.tlsFrontendConfigs[0]!.tls;
    expect(proxy.app.runConsoleCommand('showTLSContexts()')).toMatch(
      /^#\s+Address\s+# ticket keys\s+Rotation delay\s+Next rotation\s*\n0\s+127\.0\.0\.1:\d+\s+1\s+60\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/,
    );
    const first = await nodeDot(proxy.port, pki, 'www.example.test');
    // Another key in the file; the rotation that comes due reloads it: the old key is kept (2 keys), the ticket resumes.
    writeFileSync(tickets, Buffer.alloc(80, 2));
    ctx.tick(ctx.nextRotationAt);
    expect(ctx.ticketKeys.size).toBe(2);
    expect((await nodeDot(proxy.port, pki, 'www.example.test', { session: first.session! })).reused).toBe(true);
    writeFileSync(tickets, Buffer.alloc(80, 3));
    ctx.tick(ctx.nextRotationAt);
    writeFileSync(tickets, Buffer.alloc(80, 4));
    ctx.tick(ctx.nextRotationAt);
    expect((await nodeDot(proxy.port, pki, 'www.example.test', { session: first.session! })).reused).toBe(false);
  });

  it('switches to other certificate files with getTLSFrontend(n):loadNewCertificatesAndKeys()', async () => {
    const next = pki.issue('dot.test', ['dot.test']);
    const before = (await nodeDot(proxy.port, pki, 'www.example.test')).serial;
    expect(proxy.app.runConsoleCommand(`getTLSFrontend(0):loadNewCertificatesAndKeys("${next.chain}", "${next.key}")`)).toBe('');
    const after = (await nodeDot(proxy.port, pki, 'www.example.test')).serial;
    expect(after).not.toBe(before);
    expect(after.toLowerCase()).toBe(new X509Certificate(readFileSync(next.cert)).serialNumber.toLowerCase());
    expect(proxy.app.runConsoleCommand(`getTLSFrontend(0):loadNewCertificatesAndKeys("/nonexistent.pem", "${next.key}")`)).toMatch(
      /loadNewCertificatesAndKeys: unable to read the certificate file '\/nonexistent\.pem'/,
    );
    expect((await nodeDot(proxy.port, pki, 'www.example.test')).serial).toBe(after);
  });
});

describeRequires('DoT frontends: several certificate/key pairs', [opensslCli], () => {
  let pki: TestPki;
  let proxy: RunningProxy;
  let ec: { chain: string; key: string; cert: string };
  let rsa: { chain: string; key: string; cert: string };

  beforeAll(async () => {
    pki = makeTestPki();
    ec = pki.issue('dot.test', ['dot.test'], 'ec');
    rsa = pki.issue('dot.test', ['dot.test'], 'rsa');
    proxy = await startProxy(`addTLSLocal("127.0.0.1:\${PORT}", {"\${EC}", "\${RSA}"}, {"\${ECKEY}", "\${RSAKEY}"})`, {
      EC: ec.chain,
      RSA: rsa.chain,
      ECKEY: ec.key,
      RSAKEY: rsa.key,
    });
  });
  afterAll(async () => {
    await proxy?.stop();
    pki?.remove();
  });

  const servedKeyType = (sigalgs: string): Promise<string | undefined> =>
    new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: proxy.port, ca: readFileSync(pki.caCert), servername: 'dot.test', sigalgs }, () => {
        resolve(new X509Certificate(s.getPeerX509Certificate()!.raw).publicKey.asymmetricKeyType);
        s.end();
      });
      s.on('error', reject);
    });

  it('serves the pair matching what the client can verify (tables of certificates and keys, paired in order)', async () => {
    expect(await servedKeyType('ecdsa_secp256r1_sha256')).toBe('ec');
    expect(await servedKeyType('rsa_pss_rsae_sha256:rsa_pkcs1_sha256')).toBe('rsa');
  });
});
