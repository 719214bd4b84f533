/**
 * setUDPSocketBufferSizes(recv, send), side by side with dnsdist 1.7.3: the
 * UDP listeners' SO_RCVBUF and SO_SNDBUF as the kernel reports them (`ss`),
 * raised only, never lowered; left unset, raised to the system's maximum as
 * dnsdist 1.9 does; its bounds and its refusal at run time.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDnsdist, spawnDnsdist, type SpawnedDnsdist } from '../../../../test/support/dnsdist.js';
import { waitFor } from '../support/dns-client.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';

/** rb / tb of every UDP socket bound to 127.0.0.1:`port` (one per listener or worker). */
function udpBuffers(port: number): Array<{ rb: number; tb: number }> {
  const out = execFileSync('ss', ['-uamnH', 'src', `127.0.0.1:${port}`], { encoding: 'utf8' });
  return [...out.matchAll(/skmem:\(r\d+,rb(\d+),t\d+,tb(\d+)/g)].map((m) => ({ rb: Number(m[1]), tb: Number(m[2]) }));
}

function systemDefault(name: 'rmem_default' | 'wmem_default' | 'rmem_max' | 'wmem_max'): number {
  return Number(execFileSync('sysctl', ['-n', `net.core.${name}`], { encoding: 'utf8' }).trim());
}

const config = (sizes: string, port: number | string) => `setUDPSocketBufferSizes(${sizes})\nsetLocal("127.0.0.1:${port}")\n`;

describeDnsdist('setUDPSocketBufferSizes', () => {
  const cases: Array<{ sizes: string; what: string }> = [
    { sizes: '1048576, 524288', what: 'raised: the kernel keeps twice what is asked' },
    { sizes: '1000, 1000', what: 'below the default: left alone' },
  ];

  for (const { sizes, what } of cases) {
    it(`${sizes} (${what}) gives the listener the buffers dnsdist 1.7.3's gets`, async () => {
      const theirPort = await freePort();
      let proxy: RunningProxy | undefined;
      let dnsdist: SpawnedDnsdist | undefined;
      try {
        proxy = await startProxy(config(sizes, '${PORT}'));
        dnsdist = spawnDnsdist(`setSecurityPollSuffix("")\n${config(sizes, theirPort)}`);
        await waitFor('dnsdist listens', () => udpBuffers(theirPort).length === 1);
        const theirs = udpBuffers(theirPort)[0]!;
        const ours = udpBuffers(proxy.port);
        expect(ours.length).toBeGreaterThan(0);
        for (const socket of ours) expect(socket).toEqual(theirs);
        if (sizes.startsWith('1048576')) expect(theirs).toEqual({ rb: 2 * 1048576, tb: 2 * 524288 });
        else expect(theirs).toEqual({ rb: systemDefault('rmem_default'), tb: systemDefault('wmem_default') });
        expect(proxy.output.join('\n')).not.toContain('Raised');
        if (sizes === '1000, 1000') {
          const line = `Not decreasing socket buffer size from ${systemDefault('rmem_default')} to 1000`;
          await waitFor('dnsdist says it', () => dnsdist!.output().includes(line));
          expect(proxy.output.join('\n')).toContain(line);
        }
      } finally {
        await proxy?.stop();
        await dnsdist?.stop();
      }
    });
  }

  it("0, 0 (unset) raises the listener's buffers to the system's maximum, as dnsdist 1.9 (1.7.3 keeps the default), and says so once per listener", async () => {
    const theirPort = await freePort();
    let proxy: RunningProxy | undefined;
    let dnsdist: SpawnedDnsdist | undefined;
    try {
      proxy = await startProxy(config('0, 0', '${PORT}'));
      dnsdist = spawnDnsdist(`setSecurityPollSuffix("")\n${config('0, 0', theirPort)}`);
      await waitFor('dnsdist listens', () => udpBuffers(theirPort).length === 1);
      expect(udpBuffers(theirPort)[0]).toEqual({ rb: systemDefault('rmem_default'), tb: systemDefault('wmem_default') });
      // net.core.*mem_max is global (a namespace cannot change it): where a maximum is not above its
      // default (Debian's own sysctls), that side is left alone and nothing is said.
      const rmax = Math.max(systemDefault('rmem_max'), systemDefault('rmem_default'));
      const wmax = Math.max(systemDefault('wmem_max'), systemDefault('wmem_default'));
      const receiveRaised = rmax > systemDefault('rmem_default');
      const sendRaised = wmax > systemDefault('wmem_default');
      const ours = udpBuffers(proxy.port);
      expect(ours.length).toBeGreaterThan(0);
      for (const socket of ours) {
        expect(socket).toEqual({ rb: receiveRaised ? 2 * rmax : rmax, tb: sendRaised ? 2 * wmax : wmax });
      }
      const address = `127.0.0.1:${proxy.port}`;
      const said = (line: string): number => proxy!.output.filter((l) => l === line).length;
      expect(said(`Raised receive buffer to ${rmax} for address '${address}'`)).toBe(receiveRaised ? 1 : 0);
      expect(said(`Raised send buffer to ${wmax} for frontend address '${address}'`)).toBe(sendRaised ? 1 : 0);
    } finally {
      await proxy?.stop();
      await dnsdist?.stop();
    }
  });

  it('gives a DNSCrypt listener the same sizes, and says so once per UDP socket it does not lower (with workers too)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dts-udp-buffers-'));
    const now = Math.floor(Date.now() / 1000);
    let proxy: RunningProxy | undefined;
    try {
      proxy = await startProxy(
        `setUDPSocketBufferSizes(1048576, 1000)
setLocal("127.0.0.1:\${PORT}")
generateDNSCryptProviderKeys("${dir}/p.pub", "${dir}/p.key")
generateDNSCryptCertificate("${dir}/p.key", "${dir}/r.cert", "${dir}/r.key", 1, ${now - 60}, ${now + 600})
addDNSCryptBind("127.0.0.1:0", "2.provider.example", "${dir}/r.cert", "${dir}/r.key")`,
      );
      const dnscrypt = udpBuffers(proxy.app.proxy.dnscryptBinds[0]!.local.port);
      expect(dnscrypt.length).toBeGreaterThan(0);
      for (const socket of dnscrypt) expect(socket).toEqual({ rb: 2 * 1048576, tb: systemDefault('wmem_default') });
      // The send buffer is not lowered: said once for each listener's socket, the plain one and the DNSCrypt one.
      const line = `Not decreasing socket buffer size from ${systemDefault('wmem_default')} to 1000`;
      expect(proxy.output.filter((l) => l === line)).toHaveLength(2);
    } finally {
      await proxy?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a size that is not an unsigned 32-bit value, with dnsdist's words, and a call at run time", async () => {
    await expect(startProxy('setUDPSocketBufferSizes(5000000000, 1)')).rejects.toThrow(
      'The value (5000000000) passed to setUDPSocketBufferSizes is too large, the maximum is 4294967295',
    );
    await expect(startProxy('setUDPSocketBufferSizes(1, -1)')).rejects.toThrow(
      'The value (18446744073709551615) passed to setUDPSocketBufferSizes is too large, the maximum is 4294967295',
    );
    await expect(startProxy('setUDPSocketBufferSizes(1048576)')).rejects.toThrow(/setUDPSocketBufferSizes: argument #2 must be a number/);
    const proxy = await startProxy(config('1048576, 1048576', '${PORT}'));
    try {
      expect(proxy.app.runConsoleCommand('setUDPSocketBufferSizes(4194304, 4194304)')).toBe(
        'setUDPSocketBufferSizes cannot be used at runtime!\n',
      );
      expect(proxy.app.proxy.settings.udpSocketBufferSizes).toEqual({ receive: 1048576, send: 1048576 });
    } finally {
      await proxy.stop();
    }
  });
});
