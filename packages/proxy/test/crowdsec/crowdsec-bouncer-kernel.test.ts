/**
 * CrowdSec decisions in the kernel: a ban from a real Local API lands in
 * the default BPF filter's maps and the XDP filter (native, on a veth
 * pair) drops the client's queries before the proxy reads them; deleting
 * the decision takes the entry out again.
 */
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { pinnedFilterLua } from '../ebpf/ebpf-fixtures.js';
import { createVethPair, type VethPair } from '../../../../test/support/netns.js';
import { partRequires } from '../../../../test/support/require.js';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import { startCrowdSec, type RunningCrowdSec } from '../../../../test/support/crowdsec.js';
import { crowdsec, cscli } from '../../../../test/support/requirements.js';

const passObject = fileURLToPath(new URL('../../../../contrib/xdp-filter/test/fixtures/xdp-pass.bpf.o', import.meta.url));
const FAILED = /FAILED|timed out|no servers could be reached/;

describeBpf('CrowdSec decisions enforced by the XDP filter', () => {
  if (!partRequires('CrowdSec decisions in the kernel', [crowdsec, cscli])) return;
  let veth: VethPair;
  let lapi: RunningCrowdSec;
  const root = `/sys/fs/bpf/${uniqueName('dtscs')}`;
  const peer = (i: number) => veth.peerAddrs[i]!;
  const config = (key: string) => `
    setLocal("${veth.hostAddr}:\${PORT}")
    setACL({"${veth.hostAddr}/24"})
    addAction(AllRule(), SpoofAction("192.0.2.99"))
    bpf = ${pinnedFilterLua(root)}
    setDefaultBPFFilter(bpf)
    attachXDPFilter{interfaces={"${veth.hostIf}"}, mode="native"}
    setCrowdSecBouncer{url="${lapi.url}", apiKey="${key}", interval=3600}
  `;
  const dig = (proxy: RunningProxy, src: string) =>
    veth
      .execInNs('dig', [`@${veth.hostAddr}`, '-p', String(proxy.port), '-b', src, '+tries=1', '+timeout=1', 'www.example.test', 'A'])
      .catch((e: Error) => `FAILED ${e.message}`);

  beforeAll(async () => {
    veth = createVethPair(2);
    execFileSync('ip', ['-n', veth.ns, 'link', 'set', 'dev', veth.peerIf, 'xdpdrv', 'obj', passObject, 'sec', 'xdp']);
    lapi = await startCrowdSec();
  }, 60_000);
  afterAll(async () => {
    veth?.dispose();
    rmSync(root, { recursive: true, force: true });
    await lapi?.stop();
  });

  it('a ban is dropped by XDP before the proxy reads the query; deleting the decision lets the client through again', async () => {
    lapi.cli('decisions', 'add', '--ip', peer(1), '--duration', '1h', '--reason', 'dns flood');
    const p = await startProxy(config(lapi.addBouncer(uniqueName('k'))));
    try {
      if (p.app.crowdsec.stats().lastPoll === 0) await once(p.app.crowdsec.events, 'polled');
      const run = (line: string) => p.app.runConsoleCommand(line);
      expect(run('bpf:getStats()')).toBe(`${peer(1)}: 0\n`);
      expect(run('showDynBlocks()')).toMatch(
        new RegExp(`^${peer(1).replace(/\./g, '\\.')}/32 .* \\* +crowdsec +dns flood \\(cscli\\)$`, 'm'),
      );
      const before = p.app.proxy.frontends[0]!.udp.queries;
      expect(await dig(p, peer(1))).toMatch(FAILED);
      expect(p.app.proxy.frontends[0]!.udp.queries).toBe(before); // dropped before the proxy read it
      expect(run('bpf:getStats()')).toMatch(new RegExp(`^${peer(1).replace(/\./g, '\\.')}: [1-9]`));
      expect(await dig(p, peer(2))).toContain('192.0.2.99');

      lapi.cli('decisions', 'delete', '--ip', peer(1));
      await p.app.crowdsec.pollNow();
      expect(run('bpf:getStats()').trim()).toBe('');
      expect(await dig(p, peer(1))).toContain('192.0.2.99');
    } finally {
      await p.stop();
    }
  });

  it('a ban kept by the kernel maps across a restart is the bouncer’s again, and its deletion lifts it', async () => {
    const key = lapi.addBouncer(uniqueName('r'));
    lapi.cli('decisions', 'add', '--ip', peer(2), '--duration', '1h', '--reason', 'kept across restarts');
    let p = await startProxy(config(key));
    if (p.app.crowdsec.stats().lastPoll === 0) await once(p.app.crowdsec.events, 'polled');
    await p.stop();
    p = await startProxy(config(key));
    try {
      if (p.app.crowdsec.stats().lastPoll === 0) await once(p.app.crowdsec.events, 'polled');
      expect(p.output.join('\n')).toMatch(/Restored 1 dynamic block from the kernel maps/);
      const run = (line: string) => p.app.runConsoleCommand(line);
      expect(run('showDynBlocks()')).toMatch(
        new RegExp(`^${peer(2).replace(/\./g, '\\.')}/32 .* \\* +crowdsec +kept across restarts \\(cscli\\)$`, 'm'),
      );
      lapi.cli('decisions', 'delete', '--ip', peer(2));
      await p.app.crowdsec.pollNow();
      expect(run('bpf:getStats()').trim()).toBe('');
    } finally {
      await p.stop();
    }
  });
});
