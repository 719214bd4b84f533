/**
 * The files a configuration writes (DNSCrypt provider keys and
 * certificates, OCSP responses) are written once, by the control plane,
 * before the workers run the same configuration; a worker running it
 * writes nothing. Two workers rewriting an OCSP response while a third
 * read it made DoT stapling fail now and then; rewriting DNSCrypt keys would
 * leave files that no longer match the keys in use.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { opensslCli } from '../../../../test/support/requirements.js';
import { describeRequires } from '../../../../test/support/require.js';
import { makeTestPki, type TestPki } from '../../../../test/support/tls-certificates.js';
import { DnsdistApp } from '../../src/app/dnsdist-app.js';

describeRequires('files the configuration writes, with data-plane workers', [opensslCli], () => {
  let pki: TestPki;
  let dir: string;

  beforeEach(() => {
    pki = makeTestPki();
    dir = mkdtempSync(join(tmpdir(), 'dts-control-plane-files-'));
  });
  afterEach(() => {
    pki?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const outputs = () => ['p.pub', 'p.key', 'r.cert', 'r.key', 'server.ocsp'].map((f) => join(dir, f));

  async function loadAs(role: 'main' | 'worker'): Promise<string[]> {
    const cert = pki.issue('files.test', ['files.test']);
    const now = Math.floor(Date.now() / 1000);
    const configFile = join(dir, 'dnsdist.conf');
    writeFileSync(
      configFile,
      `generateDNSCryptProviderKeys("${dir}/p.pub", "${dir}/p.key")
generateDNSCryptCertificate("${dir}/p.key", "${dir}/r.cert", "${dir}/r.key", 1, ${now - 60}, ${now + 600})
generateOCSPResponse("${cert.cert}", "${pki.caCert}", "${pki.caKey}", "${dir}/server.ocsp", 1, 0)
`,
    );
    const printed: string[] = [];
    const app = new DnsdistApp({ configFile, role, output: (line) => printed.push(line), checkConfig: role === 'main' });
    try {
      await app.loadConfiguration();
    } finally {
      await app.stop();
    }
    return printed;
  }

  it('the control plane (or one process) writes every one of them', async () => {
    await loadAs('main');
    expect(outputs().filter((f) => !existsSync(f))).toEqual([]);
  });

  it('a worker running the same configuration writes none of them', async () => {
    await loadAs('worker');
    expect(outputs().filter((f) => existsSync(f))).toEqual([]);
  });
});
