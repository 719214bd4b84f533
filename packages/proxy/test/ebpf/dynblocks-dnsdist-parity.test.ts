import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { XdpFilter } from '@dnsdist-ts/xdp-filter';
import { freePort as freeTcpPort, runDnsdistClient, startDnsdist } from '../console/dnsdist-process.js';
import { startProxy } from '../support/proxy-harness.js';
import { createVethPair, type VethPair } from '../../../../test/support/netns.js';
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import { outcomes, runFlood, type FloodResult } from './dns-flood.js';
import { pinnedFilterLua17, rawEntries } from './ebpf-fixtures.js';

const passObject = fileURLToPath(new URL('../../../../contrib/xdp-filter/test/fixtures/xdp-pass.bpf.o', import.meta.url));
const KEY = 'MXNeLFWHUe4363BBKrY06cAsH8NWNb+Se2eXU5+Bb74=';

interface ShownBlock {
  what: string;
  seconds: number;
  blocks: number;
  warning: string;
  action: string;
  reason: string;
}

/** showDynBlocks() lines, with or without master's eBPF column (ours has it, 1.7.3 does not). */
function parseShowDynBlocks(text: string): ShownBlock[] {
  const out: ShownBlock[] = [];
  for (const line of text.split('\n')) {
    const m =
      /^(\S+)\s+(\d+)\s+(\d+)\s+(true|false)\s+(Drop|Truncate over UDP|Send Refused|Send NXDomain|Do nothing|Set rd=0)\s+(?:\*\s+)?(.*)$/.exec(
        line,
      );
    if (m) out.push({ what: m[1]!, seconds: Number(m[2]), blocks: Number(m[3]), warning: m[4]!, action: m[5]!, reason: m[6]! });
  }
  return out;
}

/** Each entry's key and action byte: the counters differ between runs by nature. */
function keysAndActions(path: string): Record<string, string> {
  return Object.fromEntries(Object.entries(rawEntries(path)).map(([k, v]) => [k, v.slice(16, 18)]));
}

describeBpf('dynamic blocks in the kernel: dnsdist-ts next to dnsdist 1.7.3', () => {
  describeDnsdist('the same configuration, the same flood', () => {
    let veth: VethPair;
    const root = `/sys/fs/bpf/${uniqueName('dtsq')}`;
    const rules = (dir: string, listen: string) => `
      setSecurityPollSuffix("")
      setLocal("${listen}")
      setACL({"${veth.hostAddr}/24"})
      addAction(AllRule(), SpoofAction("192.0.2.99"))
      bpf = ${pinnedFilterLua17(dir)}
      setDefaultBPFFilter(bpf)
      dbr = dynBlockRulesGroup()
      dbr:setQueryRate(100, 1, "Exceeded query rate", 30, DNSAction.Drop)
      function maintenance() dbr:apply() end
    `;
    /** The attacker floods, a client below the rate queries alongside; then what the proxy shows and the maps hold. */
    const scenario = async (port: number, show: () => Promise<string>, dir: string) => {
      const [attack, legit] = await Promise.all([
        runFlood({ server: veth.hostAddr, port, source: veth.peerAddrs[1]!, rate: 400, seconds: 2 }, veth),
        runFlood({ server: veth.hostAddr, port, source: veth.peerAddrs[0]!, rate: 20, seconds: 2 }, veth),
      ]);
      // Blocks include the kernel's hits once a maintenance pass has read them.
      await new Promise((r) => setTimeout(r, 1100));
      return { attack, legit, shown: parseShowDynBlocks(await show()), maps: keysAndActions(`${dir}/addr-v4`) };
    };

    beforeAll(() => {
      veth = createVethPair(2);
      execFileSync('ip', ['-n', veth.ns, 'link', 'set', 'dev', veth.peerIf, 'xdpdrv', 'obj', passObject, 'sec', 'xdp']);
    });
    afterAll(() => {
      veth?.dispose();
      rmSync(root, { recursive: true, force: true });
    });

    it('blocks the same client with the same reason and action, with similar counts, and writes the same map entries', async () => {
      // dnsdist 1.7.3 with its external maps, enforced by our XDP program attached by hand (as xdp.py would).
      const theirsDir = `${root}/dnsdist`;
      mkdirSync(theirsDir, { recursive: true });
      const theirPort = await freeTcpPort();
      const consolePort = await freeTcpPort();
      const dnsdist = await startDnsdist(
        `${rules(theirsDir, `${veth.hostAddr}:${theirPort}`)}\ncontrolSocket("127.0.0.1:${consolePort}")\nsetKey("${KEY}")`,
        consolePort,
      );
      let theirs: Awaited<ReturnType<typeof scenario>>;
      const xdp = XdpFilter.load({ pinDir: theirsDir, ports: [theirPort] });
      const att = xdp.attach(veth.hostIf, 'native');
      try {
        theirs = await scenario(
          theirPort,
          async () => (await runDnsdistClient(`controlSocket("127.0.0.1:${consolePort}")\nsetKey("${KEY}")`, 'showDynBlocks()')).stdout,
          theirsDir,
        );
      } finally {
        att.detach();
        xdp.close();
        await dnsdist.stop();
      }

      const oursDir = `${root}/ours`;
      const proxy = await startProxy(
        `${rules(oursDir, `${veth.hostAddr}:\${PORT}`)}\nattachXDPFilter{interfaces={"${veth.hostIf}"}, mode="native"}`,
      );
      let ours: Awaited<ReturnType<typeof scenario>>;
      try {
        ours = await scenario(proxy.port, async () => proxy.app.runConsoleCommand('showDynBlocks()'), oursDir);
      } finally {
        await proxy.stop();
      }

      const blocked = (f: FloodResult) => outcomes(f)['-'] ?? 0;
      for (const run of [theirs, ours]) {
        expect(outcomes(run.legit)).toEqual({ A: run.legit.sent });
        expect(blocked(run.attack)).toBeGreaterThan(200);
      }
      const strip = (b: ShownBlock[]) => b.map(({ what, warning, action, reason }) => ({ what, warning, action, reason }));
      expect(strip(ours.shown)).toEqual(strip(theirs.shown));
      expect(strip(ours.shown)).toEqual([
        { what: `${veth.peerAddrs[1]}/32`, warning: 'false', action: 'Drop', reason: 'Exceeded query rate' },
      ]);
      const [a, b] = [ours.shown[0]!, theirs.shown[0]!];
      expect(Math.abs(a.seconds - b.seconds)).toBeLessThanOrEqual(3);
      // Blocks: what each one dropped, userspace and kernel together (1.7.3 adds the kernel counter as ours does). The
      // totals themselves differ between the runs with the phase of the maintenance tick (a block 0.25 to 1.25 s in).
      expect(Math.abs(a.blocks - blocked(ours.attack))).toBeLessThanOrEqual(60);
      expect(Math.abs(b.blocks - blocked(theirs.attack))).toBeLessThanOrEqual(60);
      expect(ours.maps).toEqual(theirs.maps);
      expect(Object.values(ours.maps)).toEqual(['01']);
    });
  });
});
