/**
 * addDNSCryptBind with two data-plane workers: both open the listener with
 * SO_REUSEPORT on one port, and both answer with the control plane's
 * certificates (workers/worker-keys.ts), so a client that fetched the
 * certificate from one worker has its boxes opened by the other. The
 * configuration makes its certificate in memory, which each worker's Lua
 * state would otherwise make for itself; rotations at the console and in
 * maintenance() reach both. A DNSCrypt client written from the protocol
 * (test/support/dnscrypt-client.ts) asks from a new socket each time, so
 * the kernel spreads its queries over the workers.
 * The workers run the built code (dist/): `make` first.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import type { DNSCryptCertificate } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-certificate.js';
import { encodeCertificate } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-certificate.js';
import { requireBuiltCli } from '../cli/cli-process.js';
import { dnscryptQuery, fetchDNSCryptCertificates } from '../support/dnscrypt-client.js';
import { waitFor } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

const PROVIDER = '2.provider.example';

describe('DNSCrypt with two data-plane workers', () => {
  let dir: string;
  let proxy: RunningProxy;
  let port: number;
  let providerKey: Uint8Array;
  const run = (line: string): Promise<string> => proxy.app.runConsoleCommandSliced(line);

  /** The queries each worker counted, read at once (workers/live-counters.ts). */
  function perWorker(): Promise<number[]> {
    return Promise.resolve(proxy.app.workers!.status().map((w) => w.queries));
  }

  /** What `count` fetches from new sockets were offered: the distinct certificate sets, as hex. */
  async function offered(count = 16): Promise<Set<string>> {
    const sets = await Promise.all(
      Array.from({ length: count }, async () =>
        (await fetchDNSCryptCertificates(port, PROVIDER, providerKey)).map((c) => encodeCertificate(c).toString('hex')).join(','),
      ),
    );
    return new Set(sets);
  }

  /**
   * Boxed queries with `cert` over UDP and TCP, in batches from new sockets,
   * until both workers have answered some; each answer must open with the
   * keys of that one certificate.
   */
  async function answeredByBothWorkers(cert: DNSCryptCertificate): Promise<number> {
    const before = await perWorker();
    let sent = 0;
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, i) => dnscryptQuery(port, cert, `q${batch}-${i}.example`, i % 2 === 1)),
      );
      sent += answers.length;
      for (const a of answers) expect((a.answers?.[0] as dnsPacket.StringAnswer | undefined)?.data).toBe('192.0.2.9');
      const now = await perWorker();
      if (now[0]! > before[0]! && now[1]! > before[1]!) return sent;
    }
    throw new Error(`${sent} queries did not reach both workers: ${JSON.stringify(await perWorker())}`);
  }

  const serialsOf = (set: Set<string>): number[] => [...set][0]!.split(',').map((hex) => Buffer.from(hex, 'hex').readUInt32BE(72 + 40));

  beforeAll(async () => {
    requireBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'dts-workers-dnscrypt-'));
    const now = Math.floor(Date.now() / 1000);
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
generateDNSCryptProviderKeys("${dir}/p.pub", "${dir}/p.key")
generateDNSCryptCertificate("${dir}/p.key", "${dir}/r.cert", "${dir}/r.key", 42, ${now - 60}, ${now + 7200})
addDNSCryptBind("127.0.0.1:0", "${PROVIDER}", "${dir}/r.cert", "${dir}/r.key")
-- Made in memory: each worker's Lua state makes one of its own, with its own keys.
getDNSCryptBind(0):generateAndLoadInMemoryCertificate("${dir}/p.key", 43, ${now - 60}, ${now + 7200})
getDNSCryptBind(0):markInactive(42)
addAction(AllRule(), SpoofAction("192.0.2.9"))
rotateTo = 0
function maintenance()
  if rotateTo > 0 then
    local serial = rotateTo
    rotateTo = 0
    getDNSCryptBind(0):generateAndLoadInMemoryCertificate("${dir}/p.key", serial, os.time() - 60, os.time() + 600)
    getDNSCryptBind(0):markInactive(serial - 1)
  end
end
`,
      {},
      { workers: 2 },
    );
    port = proxy.app.proxy.dnscryptBinds[0]!.local.port;
    providerKey = new Uint8Array(readFileSync(`${dir}/p.pub`));
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('binds port 0 as one real port in both workers, shown by the control plane', async () => {
    expect(port).toBeGreaterThan(0);
    expect(proxy.output).toContain(`Listening on 127.0.0.1:${port} for DNSCrypt`);
    expect(await run('showDNSCryptBinds()')).toContain(`127.0.0.1:${port}`);
  });

  it("every worker offers the control plane's certificate made in memory, and opens boxes made with it; counters are summed", async () => {
    const set = await offered();
    expect(set.size).toBe(1);
    expect(serialsOf(set)).toEqual([43]);
    const inControlPlane = await run('return getDNSCryptBind(0):getCertificate(1):getSerial()');
    expect(inControlPlane).toBe('43\n');
    const [cert] = await fetchDNSCryptCertificates(port, PROVIDER, providerKey);
    const sent = await answeredByBothWorkers(cert!);
    // Every fetch above (16 + 1) and every UDP box, and every TCP box, counted once in the control plane's listener.
    const bind = proxy.app.proxy.dnscryptBinds[0]!;
    // Read at once: each worker counted its queries before it answered them (workers/live-counters.ts).
    expect(bind.udpCounters.queries).toBe(17 + sent / 2);
    expect(bind.tcpCounters.queries).toBe(sent / 2);
    expect(bind.udpCounters.responses).toBe(sent / 2);
    expect(bind.tcpCounters.responses).toBe(sent / 2);
    expect(await run('showBinds()')).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} +UDP \\(DNSCrypt\\) +${17 + sent / 2}\\n`));
  });

  it('a certificate made and the old one marked inactive at the console reach both workers; the old one still opens boxes there', async () => {
    const [old] = await fetchDNSCryptCertificates(port, PROVIDER, providerKey);
    const now = Math.floor(Date.now() / 1000);
    expect(await run(`getDNSCryptBind(0):generateAndLoadInMemoryCertificate("${dir}/p.key", 44, ${now - 60}, ${now + 7200})`)).toBe('');
    expect(await run('getDNSCryptBind(0):markInactive(43)')).toBe('');
    const set = await offered();
    expect(set.size).toBe(1);
    expect(serialsOf(set)).toEqual([44]);
    const [fresh] = await fetchDNSCryptCertificates(port, PROVIDER, providerKey);
    await answeredByBothWorkers(fresh!);
    await answeredByBothWorkers(old!);
  });

  it('a rotation made by maintenance() in the control plane reaches both workers', async () => {
    expect(await run('rotateTo = 45')).toBe('');
    const deadline = Date.now() + 15_000;
    let serials: number[] = [];
    while (!serials.includes(45)) {
      if (Date.now() > deadline)
        throw new Error(`maintenance() did not rotate within 15 s: ${serials.join(',')}\n${proxy.output.join('\n')}`);
      serials = (await fetchDNSCryptCertificates(port, PROVIDER, providerKey)).map((c) => c.serial);
      if (!serials.includes(45)) await new Promise((r) => setTimeout(r, 200)); // maintenance() runs once a second
    }
    const set = await offered();
    expect(set.size).toBe(1);
    expect(serialsOf(set)).toEqual([45]);
    const [cert] = await fetchDNSCryptCertificates(port, PROVIDER, providerKey);
    await answeredByBothWorkers(cert!);
    expect(proxy.output.join('\n')).not.toMatch(/Error during execution of maintenance function/);
  });

  it("a restarted worker starts with the control plane's certificates, not the ones its configuration makes", async () => {
    const pool = proxy.app.workers!;
    const before = await offered(4);
    const oldThread = pool.status()[1]!.threadId;
    await pool.terminate(1);
    await waitFor('the restart', () => pool.status()[1]!.state === 'running' && pool.status()[1]!.threadId !== oldThread, 15_000);
    expect(await offered()).toEqual(before);
    const [cert] = await fetchDNSCryptCertificates(port, PROVIDER, providerKey);
    await answeredByBothWorkers(cert!);
  });
});
