import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NameIndex, nowNs } from '@dnsdist-ts/bpf-filter';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';
import { itRequires } from '../../../test/support/require.js';
import { onPath, xdpLoader as libxdpLoader } from '../../../test/support/requirements.js';
import { createVethPair, type VethPair } from '../../../test/support/netns.js';
import { describeDnsdist, dnsdistCheckConfig } from '../../../test/support/dnsdist.js';

const run = promisify(execFile);

/**
 * xdp-loader, waiting its turn: it takes a program lock (a file under /run
 * holding its pid) and fails at once instead of waiting when another
 * xdp-loader holds it or is still writing it ("Unable to read PID from
 * lockfile", seen once in CI), so a busy lock is tried again for up to 10 s.
 */
async function xdpLoaderRun(args: string[]): Promise<{ stdout: string }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await run(xdpLoader!, args);
    } catch (err) {
      const text = `${(err as { stderr?: string }).stderr ?? ''} ${(err as Error).message}`;
      if (!/read PID from lockfile|program lock: Already held/.test(text) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** xdp-tools' loader (libxdp); the test through it needs it (see itRequires below). */
const xdpLoader = onPath('xdp-loader');
const passObject = fileURLToPath(new URL('./fixtures/xdp-pass.bpf.o', import.meta.url));
const cli = fileURLToPath(new URL('../../../bin/xdp-filter', import.meta.url));
const xdpFilter = async (...args: string[]) => (await run(cli, args)).stdout;

describeBpf('xdp-filter end to end on a veth pair', () => {
  describeDnsdist('with dig clients and a real DNS server', () => {
    let veth: VethPair;
    let server: ChildProcess | undefined;
    let confDir: string;
    const pinDir = `/sys/fs/bpf/${uniqueName('dtse2e')}`;
    const dig = (src: string, name = 'www.example.test') =>
      veth
        .execInNs('dig', [`@${veth.hostAddr}`, '-b', src, '+tries=1', '+timeout=1', name, 'A'])
        .catch((e: Error) => `FAILED ${e.message}`);
    const peer = (i: number) => veth.peerAddrs[i]!;

    beforeAll(async () => {
      veth = createVethPair(3); // four peer addresses: clean, dropped, truncated, suffix client
      confDir = mkdtempSync(join(tmpdir(), 'dts-e2e-'));
      const conf = join(confDir, 'server.conf');
      // A real DNS server on the host end: dnsdist answering every A query itself.
      writeFileSync(
        conf,
        [`setLocal("${veth.hostAddr}:53")`, `setACL({"${veth.hostAddr}/24"})`, 'addAction(AllRule(), SpoofAction("192.0.2.99"))'].join(
          '\n',
        ),
      );
      server = spawn('dnsdist', ['--supervised', '--disable-syslog', '-C', conf], { stdio: 'ignore' });
      // Ready once it answers (bounded).
      for (let i = 0; i < 50; i++) {
        if ((await dig(peer(0))).includes('192.0.2.99')) break;
      }
      // A veth accepts XDP_TX frames only with NAPI on the receiving end, which an XDP program there enables.
      execFileSync('ip', ['-n', veth.ns, 'link', 'set', 'dev', veth.peerIf, 'xdpdrv', 'obj', passObject, 'sec', 'xdp']);
    });
    const dnsdistPins = `/sys/fs/bpf/${uniqueName('dtse2d')}`;
    afterAll(async () => {
      rmSync(dnsdistPins, { recursive: true, force: true });
      await xdpFilter('detach', '--iface', veth.hostIf).catch(() => '');
      server?.kill('SIGKILL');
      veth?.dispose();
      rmSync(confDir, { recursive: true, force: true });
      rmSync(pinDir, { recursive: true, force: true });
    });

    it('passes clean clients, drops a blocked one, answers a TC one so that it retries over TCP, and counts', async () => {
      expect(await xdpFilter('attach', '--iface', veth.hostIf, '--mode', 'native', '--pin-dir', pinDir)).toMatch(
        /attached to .* in native mode/,
      );
      const status = JSON.parse(await xdpFilter('status', '--iface', veth.hostIf, '--json'));
      expect(status).toMatchObject({ attached: true, mode: 'native', xdpFilter: true, ports: [53], pinDir });
      // The default mode: the name index is guarded (used only while an index guard runs; none here).
      expect(status.nameIndex).toMatchObject({ qnames: { mode: 'guarded', inUse: false }, suffixes: { mode: 'guarded', inUse: false } });
      await expect(run(cli, ['attach', '--iface', veth.hostIf, '--pin-dir', pinDir])).rejects.toThrow(
        /already has an XDP program attached/,
      );

      await xdpFilter('block', '--pin-dir', pinDir, '--action', 'drop', '--addr', peer(1));
      await xdpFilter('block', '--pin-dir', pinDir, '--action', 'tc', '--addr', peer(2));
      await xdpFilter('block', '--pin-dir', pinDir, '--action', 'drop', '--suffix', 'blocked.test');

      const clean = await dig(peer(0));
      expect(clean).toContain('192.0.2.99');
      expect(clean).not.toContain('Truncated');

      const blocked = await dig(peer(1));
      expect(blocked).toMatch(/FAILED|timed out|no servers could be reached/);

      const tc = await dig(peer(2));
      expect(tc).toContain('Truncated, retrying in TCP mode');
      expect(tc).toContain('192.0.2.99');

      const bySuffix = await dig(peer(3), 'x.blocked.test');
      expect(bySuffix).toMatch(/FAILED|timed out|no servers could be reached/);

      const rows = JSON.parse(await xdpFilter('list', '--pin-dir', pinDir, '--json')) as Array<{
        kind: string;
        entry: string;
        action: string;
        hits: string;
      }>;
      expect(rows).toEqual(
        expect.arrayContaining([
          { kind: 'ipv4', entry: peer(1), action: 'Drop', hits: '1' },
          { kind: 'ipv4', entry: peer(2), action: 'Truncate', hits: '1' },
          { kind: 'suffix', entry: 'blocked.test.', action: 'Drop', hits: '1' },
        ]),
      );
      const after = JSON.parse(await xdpFilter('status', '--iface', veth.hostIf, '--json'));
      expect(after.totals).toMatchObject({ DropAddress: '1', TruncateAddress: '1', DropSuffix: '1' });

      await xdpFilter('unblock', '--pin-dir', pinDir, '--addr', peer(1));
      expect(await dig(peer(1))).toContain('192.0.2.99');

      expect(await xdpFilter('detach', '--iface', veth.hostIf)).toMatch(/detached/);
      expect(JSON.parse(await xdpFilter('status', '--iface', veth.hostIf, '--json'))).toMatchObject({ attached: false });
    });

    itRequires("loads through libxdp's xdp-loader, reusing the pinned maps by their object names", libxdpLoader, async () => {
      const libxdpPins = `/sys/fs/bpf/${uniqueName('dtse2x')}`;
      try {
        expect(await xdpFilter('libxdp-pins', '--pin-dir', libxdpPins)).toMatch(/xdp-loader load -m native -p/);
        await xdpFilter('block', '--pin-dir', libxdpPins, '--action', 'drop', '--addr', peer(1));
        await xdpFilter('block', '--pin-dir', libxdpPins, '--action', 'drop', '--suffix', 'blocked.test');
        const obj = fileURLToPath(new URL('../bpf/xdp-filter.bpf.o', import.meta.url));
        await xdpLoaderRun(['load', '-m', 'native', '-p', libxdpPins, veth.hostIf, obj]);
        try {
          const loaded = (await xdpLoaderRun(['status', veth.hostIf])).stdout;
          expect(loaded).toContain('xdp_dns_filter');
          expect(await dig(peer(0))).toContain('192.0.2.99');
          expect(await dig(peer(1))).toMatch(/FAILED|timed out|no servers could be reached/);
          expect(await dig(peer(3), 'x.blocked.test')).toMatch(/FAILED|timed out|no servers could be reached/);
          // The entries xdp-loader's program counted are the ones `xdp-filter list` shows: one set of maps.
          const rows = JSON.parse(await xdpFilter('list', '--pin-dir', libxdpPins, '--json')) as Array<{ entry: string; hits: string }>;
          expect(rows).toEqual(
            expect.arrayContaining([
              expect.objectContaining({ entry: peer(1), hits: '1' }),
              expect.objectContaining({ entry: 'blocked.test.', hits: '1' }),
            ]),
          );
        } finally {
          await xdpLoaderRun(['unload', veth.hostIf, '--all']);
        }
      } finally {
        rmSync(libxdpPins, { recursive: true, force: true });
      }
    });

    it('enforces maps that dnsdist 1.7.3 created and filled (newBPFFilter(..., true))', async () => {
      const params = ['addr-v4', 'addr-v6', 'qnames'].map((m) => `{maxItems=128, pinnedPath="${dnsdistPins}/${m}"}`).join(', ');
      const r = dnsdistCheckConfig(`
        setLocal("127.0.0.1:0")
        os.execute("mkdir -p ${dnsdistPins}")
        bpf = newBPFFilter(${params}, true)
        bpf:block(newCA("${peer(1)}"))
        bpf:block(newCA("${peer(2)}"), 2)
        bpf:blockQName(newDNSName("Denied.Example"), 1)
      `);
      expect(r.status).toBe(0);
      expect(await xdpFilter('attach', '--iface', veth.hostIf, '--mode', 'native', '--pin-dir', dnsdistPins)).toMatch(
        /name index: names guarded, not in use: no index guard has vouched for it \(looked up\); suffixes guarded/,
      );
      try {
        expect(await dig(peer(0))).toContain('192.0.2.99');
        expect(await dig(peer(1))).toMatch(/FAILED|timed out|no servers could be reached/);
        const tc = await dig(peer(2));
        expect(tc).toContain('Truncated, retrying in TCP mode');
        expect(tc).toContain('192.0.2.99');
        expect(await dig(peer(0), 'denied.example')).toMatch(/FAILED|timed out|no servers could be reached/);
        const rows = JSON.parse(await xdpFilter('list', '--pin-dir', dnsdistPins, '--json')) as Array<{ entry: string; hits: string }>;
        expect(rows).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ entry: peer(1), hits: '1' }),
            expect.objectContaining({ entry: peer(2), hits: '1' }),
            expect.objectContaining({ entry: 'denied.example. A', hits: '1' }),
          ]),
        );
        // dnsdist blocks another name while the filter runs: it writes the map without the index;
        // with no index guard running, 'auto' looks every name up. Enforced at once.
        const again = dnsdistCheckConfig(`
          setLocal("127.0.0.1:0")
          bpf = newBPFFilter(${params}, true)
          bpf:blockQName(newDNSName("Later.Example"), 255)
        `);
        expect(again.status).toBe(0);
        expect(await dig(peer(0), 'later.example')).toMatch(/FAILED|timed out|no servers could be reached/);
        // An operator who knows dnsdist is done writing can rebuild and trust the index.
        expect(await xdpFilter('reindex', '--pin-dir', dnsdistPins, '--name-index', 'trusted')).toMatch(
          /names trusted \(in use\); suffixes trusted \(in use\)/,
        );
        expect(await dig(peer(0), 'later.example')).toMatch(/FAILED|timed out|no servers could be reached/);
        expect(await dig(peer(0), 'denied.example')).toMatch(/FAILED|timed out|no servers could be reached/);
        expect(await dig(peer(0), 'www.example.test')).toContain('192.0.2.99');
      } finally {
        await xdpFilter('detach', '--iface', veth.hostIf);
      }
    });

    it('attach --maintain: an index guard until SIGTERM; a name dnsdist 1.7.3 blocks meanwhile is dropped, others answered', async () => {
      const pins = `/sys/fs/bpf/${uniqueName('dtse2m')}`;
      const child = spawn(cli, ['attach', '--iface', veth.hostIf, '--mode', 'native', '--pin-dir', pins, '--maintain'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const waitFor = async (what: () => boolean) => {
        for (let i = 0; i < 2000 && !what(); i++) await new Promise((r) => setTimeout(r, 5));
        return what();
      };
      const since = nowNs();
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      let index: NameIndex | undefined;
      try {
        expect(await waitFor(() => /Maintaining the XDP filter's name index/.test(out))).toBe(true);
        expect(out).toMatch(/attached to .* in native mode/);
        index = NameIndex.openIn(pins)!;
        expect(await waitFor(() => index!.vouchedSince('qnames', since))).toBe(true);
        const r = dnsdistCheckConfig(`
          setLocal("127.0.0.1:0")
          bpf = newBPFFilter(${['addr-v4', 'addr-v6', 'qnames'].map((m) => `{maxItems=1024, pinnedPath="${pins}/${m}"}`).join(', ')}, true)
          bpf:blockQName(newDNSName("Maintained.Example"), 255)
        `);
        expect(r.status).toBe(0);
        const written = nowNs();
        expect(await waitFor(() => index!.vouchedSince('qnames', written))).toBe(true);
        expect(await dig(peer(0), 'maintained.example')).toMatch(/FAILED|timed out|no servers could be reached/);
        expect(await dig(peer(0), 'www.example.test')).toContain('192.0.2.99');
        expect(index.state().qnames.inUse).toBe(true);
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        expect(out).toMatch(/stopped maintaining the name index/);
      } finally {
        index?.close();
        child.kill('SIGKILL');
        await xdpFilter('detach', '--iface', veth.hostIf).catch(() => '');
        rmSync(pins, { recursive: true, force: true });
      }
    });
  });
});
