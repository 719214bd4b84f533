/**
 * Fleet blocks in the kernel: a block made on node A is dropped by node
 * B's XDP filter (native, on a veth pair) before B reads the query, and
 * leaves B's maps when A clears it; a restarted B finds the fleet's live
 * blocks again and nothing that was cleared meanwhile.
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
import { startRedis, type RunningRedis } from '../../../../test/support/redis.js';
import { redisCli, redisServer } from '../../../../test/support/requirements.js';

const passObject = fileURLToPath(new URL('../../../../contrib/xdp-filter/test/fixtures/xdp-pass.bpf.o', import.meta.url));
const FAILED = /FAILED|timed out|no servers could be reached/;

describeBpf('fleet blocks enforced by every node’s XDP filter', () => {
  if (!partRequires('fleet blocks in the kernel', [redisServer, redisCli])) return;
  let veth: VethPair;
  let redis: RunningRedis;
  const root = `/sys/fs/bpf/${uniqueName('dtsfl')}`;
  const fleet = uniqueName('fk');
  const peer = (i: number) => veth.peerAddrs[i]!;
  const nodeA = () => `
    setLocal("127.0.0.1:\${PORT}")
    setDynBlocksSync{url="${redis.url}", fleet="${fleet}", node="a"}
  `;
  const nodeB = () => `
    setLocal("${veth.hostAddr}:\${PORT}")
    setACL({"${veth.hostAddr}/24"})
    addAction(AllRule(), SpoofAction("192.0.2.99"))
    bpf = ${pinnedFilterLua(`${root}/b`)}
    setDefaultBPFFilter(bpf)
    attachXDPFilter{interfaces={"${veth.hostIf}"}, mode="native"}
    setDynBlocksSync{url="${redis.url}", fleet="${fleet}", node="b"}
  `;
  const dig = (proxy: RunningProxy, src: string) =>
    veth
      .execInNs('dig', [`@${veth.hostAddr}`, '-p', String(proxy.port), '-b', src, '+tries=1', '+timeout=1', 'www.example.test', 'A'])
      .catch((e: Error) => `FAILED ${e.message}`);
  const run = (proxy: RunningProxy, line: string) => proxy.app.runConsoleCommand(line);
  const start = async (config: string): Promise<RunningProxy> => {
    const p = await startProxy(config);
    if (!p.app.fleet.stats().connected || p.app.fleet.stats().resyncs === 0) await once(p.app.fleet.events, 'resynced');
    return p;
  };

  beforeAll(async () => {
    veth = createVethPair(3);
    execFileSync('ip', ['-n', veth.ns, 'link', 'set', 'dev', veth.peerIf, 'xdpdrv', 'obj', passObject, 'sec', 'xdp']);
    redis = await startRedis();
  });
  afterAll(async () => {
    veth?.dispose();
    rmSync(root, { recursive: true, force: true });
    await redis?.stop();
  });

  it('a block from A is dropped by B’s XDP filter; clearDynBlocks() on A empties B’s maps; a restarted B takes the live blocks again', async () => {
    const a = await start(nodeA());
    let b = await start(nodeB());
    try {
      expect(await dig(b, peer(1))).toContain('192.0.2.99');
      const got = once(b.app.fleet.events, 'received');
      run(a, `addDynamicBlock("${peer(1)}", "seen on a", DNSAction.Drop, 60)`);
      await got;
      expect(run(b, 'bpf:getStats()')).toBe(`${peer(1)}: 0\n`);
      const before = b.app.proxy.frontends[0]!.udp.queries;
      expect(await dig(b, peer(1))).toMatch(FAILED);
      expect(b.app.proxy.frontends[0]!.udp.queries).toBe(before); // dropped before the proxy read it
      expect(run(b, 'bpf:getStats()')).toMatch(new RegExp(`^${peer(1).replace(/\./g, '\\.')}: [1-9]`));
      expect(await dig(b, peer(2))).toContain('192.0.2.99');

      const cleared = once(b.app.fleet.events, 'received');
      run(a, 'clearDynBlocks()');
      await cleared;
      expect(run(b, 'bpf:getStats()').trim()).toBe('');
      expect(await dig(b, peer(1))).toContain('192.0.2.99');

      // B goes down; A blocks one client and clears another meanwhile; B comes back.
      // B holds both in its kernel maps when it stops; they outlive it there (pins).
      const both = new Promise<void>((resolve) => {
        let n = 0;
        b.app.fleet.events.on('received', () => ++n === 2 && resolve());
      });
      run(a, `addDynamicBlock("${peer(2)}", "while b was away", DNSAction.Drop, 60)`);
      run(a, `addDynamicBlock("${peer(3)}", "lifted while b was away", DNSAction.Drop, 60)`);
      await both;
      expect(run(b, 'bpf:getStats()').trim().split('\n')).toHaveLength(2);
      await b.stop();
      run(a, `clearDynBlocks()`);
      run(a, `addDynamicBlock("${peer(2)}", "while b was away", DNSAction.Drop, 60)`);
      while (redis.cli('--raw', 'EXISTS', `dnsdist-ts:${fleet}:block:net:${peer(2)}/32`).trim() !== '1') {
        await once(a.app.fleet.events, 'published');
      }
      b = await start(nodeB());
      // peer(3) came back from the kernel maps at start-up; the fleet no longer has it, so it went again.
      expect(b.output.join('\n')).toMatch(
        /Restored 2 dynamic blocks from the kernel maps[^]*removed 1 block restored from the kernel maps that the fleet no longer has/,
      );
      expect(run(b, 'bpf:getStats()')).toBe(`${peer(2)}: 0\n`);
      expect(run(b, 'showDynBlocks()')).toMatch(new RegExp(`^${peer(2).replace(/\./g, '\\.')}/32 .* \\* +a +while b was away$`, 'm'));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
