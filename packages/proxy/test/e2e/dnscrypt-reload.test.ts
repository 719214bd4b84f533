/**
 * reloadAllCertificates() and DNSCrypt listeners, as dnsdist 1.7 does it:
 * the certificate files loaded so far are read again and replace the set
 * (certificates made in memory are dropped); a file that cannot be used
 * is reported and changes nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { dnscryptQuery, fetchDNSCryptCertificates } from '../support/dnscrypt-client.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';

const PROVIDER = '2.provider.example';

describe('reloadAllCertificates() with addDNSCryptBind', () => {
  let dir: string;
  let proxy: RunningProxy;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dts-dnscrypt-reload-'));
    port = await freePort();
    const now = Math.floor(Date.now() / 1000);
    proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")
generateDNSCryptProviderKeys("${dir}/p.pub", "${dir}/p.key")
generateDNSCryptCertificate("${dir}/p.key", "${dir}/r.cert", "${dir}/r.key", 1, ${now - 60}, ${now + 7200})
addDNSCryptBind("127.0.0.1:${port}", "${PROVIDER}", "${dir}/r.cert", "${dir}/r.key")
addAction(AllRule(), SpoofAction("192.0.2.1"))
`);
  });

  afterAll(async () => {
    await proxy?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads the files again (a renewed certificate is served, in-memory ones are dropped); bad files change nothing', async () => {
    const providerKey = new Uint8Array(readFileSync(`${dir}/p.pub`));
    const serials = async (): Promise<number[]> => (await fetchDNSCryptCertificates(port, PROVIDER, providerKey)).map((c) => c.serial);
    const run = (c: string): Promise<string> => proxy.app.runConsoleCommandSliced(c);
    const now = Math.floor(Date.now() / 1000);
    expect(await serials()).toEqual([1]);
    await run(`getDNSCryptBind(0):generateAndLoadInMemoryCertificate("${dir}/p.key", 9, ${now - 60}, ${now + 600})`);
    expect(await serials()).toEqual([1, 9]);
    // The certificate renewed in place, as a cron job would.
    await run(`generateDNSCryptCertificate("${dir}/p.key", "${dir}/r.cert", "${dir}/r.key", 2, ${now - 60}, ${now + 7200})`);
    expect(await run('reloadAllCertificates()')).toBe('');
    expect(await serials()).toEqual([2]);
    const [cert] = await fetchDNSCryptCertificates(port, PROVIDER, providerKey);
    const a = await dnscryptQuery(port, cert!, 'after-reload.example', false);
    expect((a.answers?.[0] as dnsPacket.StringAnswer | undefined)?.data).toBe('192.0.2.1');
    writeFileSync(`${dir}/r.cert`, 'half-written');
    expect(await run('reloadAllCertificates()')).toMatch(
      new RegExp(`Error reloading certificates for frontend 127\\.0\\.0\\.1:${port}: .*r\\.cert`),
    );
    expect(await serials()).toEqual([2]);
  });
});
