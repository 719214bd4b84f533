import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { queryXdp } from '@dnsdist-ts/bpf';
import { ipv4Key } from '@dnsdist-ts/bpf-filter';
import { parseAddress } from '@dnsdist-ts/dns';
import { XdpFilter } from '@dnsdist-ts/xdp-filter';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { createVethPair, type VethPair } from '../../../../test/support/netns.js';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import { pinnedFilterLua, rawEntry } from './ebpf-fixtures.js';

const passObject = fileURLToPath(new URL('../../../../contrib/xdp-filter/test/fixtures/xdp-pass.bpf.o', import.meta.url));
const FAILED = /FAILED|timed out|no servers could be reached/;

describeBpf('attachXDPFilter: the XDP filter on an interface for the life of the proxy', () => {
  let veth: VethPair;
  const root = `/sys/fs/bpf/${uniqueName('dtsx')}`;
  const dir = `${root}/dnsdist`;
  const peer = (i: number) => veth.peerAddrs[i]!;
  const config = (extra = '') => `
    setLocal("${veth.hostAddr}:\${PORT}")
    setACL({"${veth.hostAddr}/24"})
    addAction(AllRule(), SpoofAction("192.0.2.99"))
    bpf = ${pinnedFilterLua(dir)}
    setDefaultBPFFilter(bpf)
    attachXDPFilter{interfaces={"${veth.hostIf}"}, mode="native"}
    ${extra}
  `;
  const dig = (port: number, src: string, name = 'www.example.test') =>
    veth
      .execInNs('dig', [`@${veth.hostAddr}`, '-p', String(port), '-b', src, '+tries=1', '+timeout=1', name, 'A'])
      .catch((e: Error) => `FAILED ${e.message}`);

  beforeAll(() => {
    veth = createVethPair(3);
    // A veth accepts XDP_TX frames (the TC answers) only with NAPI on the receiving end, which an XDP program there enables.
    execFileSync('ip', ['-n', veth.ns, 'link', 'set', 'dev', veth.peerIf, 'xdpdrv', 'obj', passObject, 'sec', 'xdp']);
  });
  afterAll(() => {
    veth?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  describe('one proxy run', () => {
    let proxy: RunningProxy;
    const udp = () => proxy.app.proxy.frontends[0]!.udp.queries;
    const tcp = () => proxy.app.proxy.frontends[0]!.tcp.queries;
    const hits = (addr: string) =>
      Number(new RegExp(`${addr.replaceAll('.', '\\.')}: (\\d+)`).exec(proxy.app.runConsoleCommand('bpf:getStats()'))?.[1]);

    beforeAll(async () => {
      proxy = await startProxy(config(`bpf:block(newCA("${peer(1)}"))\nbpf:block(newCA("${peer(2)}"), 2)`));
    });
    afterAll(async () => {
      await proxy?.stop();
    });

    it("attaches at start-up in the mode asked for, on the listeners' port", () => {
      expect(queryXdp(veth.hostIf).mode).toBe('native');
      expect(proxy.output.join('\n')).toContain(
        `Attached the XDP filter to ${veth.hostIf} in native mode (program id ${queryXdp(veth.hostIf).progId}), DNS ports ${proxy.port}, maps in ${dir}`,
      );
    });

    it("drops a blocked client's queries in the driver: the proxy never sees them, the map counter rises", async () => {
      expect(await dig(proxy.port, peer(0))).toContain('192.0.2.99');
      const before = udp();
      expect(await dig(proxy.port, peer(1))).toMatch(FAILED);
      expect(udp()).toBe(before);
      expect(hits(peer(1))).toBe(1);
    });

    it('answers a Truncate client with TC=1 from the XDP program; it retries over TCP and gets the answer', async () => {
      const [u, t] = [udp(), tcp()];
      const out = await dig(proxy.port, peer(2));
      expect(out).toContain('Truncated, retrying in TCP mode');
      expect(out).toContain('192.0.2.99');
      expect([udp(), tcp()]).toEqual([u, t + 1]);
      expect(hits(peer(2))).toBe(1);
    });

    it('enforces entries added at runtime (range rules)', async () => {
      proxy.app.runConsoleCommand(`bpf:addRangeRule("${peer(3)}/32", 1)`);
      expect(await dig(proxy.port, peer(3))).toMatch(FAILED);
      expect(proxy.app.runConsoleCommand('bpf:getStats()')).toContain(`Drop\t ${peer(3)}/32: 1`);
    });

    it('detaches when the proxy stops; the pinned maps and their entries stay', async () => {
      await proxy.stop();
      expect(queryXdp(veth.hostIf).mode).toBe('none');
      expect(rawEntry(`${dir}/addr-v4`, ipv4Key(parseAddress(peer(1)).bytes))?.[8]).toBe(1);
    });
  });

  it('replaces an xdp-filter left attached by a run that died, and refuses to replace another program', async () => {
    const stale = XdpFilter.load({ pinDir: dir });
    const staleId = stale.attach(veth.hostIf, 'native').progId;
    stale.close();
    const proxy = await startProxy(config());
    try {
      const now = queryXdp(veth.hostIf);
      expect(now.progId).not.toBe(staleId);
      expect(proxy.output.join('\n')).toContain(
        `Replaced the XDP filter left attached to ${veth.hostIf} by an earlier run (program id ${staleId})`,
      );
    } finally {
      await proxy.stop();
    }
    expect(queryXdp(veth.hostIf).mode).toBe('none');

    execFileSync('ip', ['link', 'set', 'dev', veth.hostIf, 'xdpdrv', 'obj', passObject, 'sec', 'xdp']);
    try {
      await expect(startProxy(config())).rejects.toThrow(`${veth.hostIf} already has another XDP program attached`);
      expect(queryXdp(veth.hostIf).mode).toBe('native');
    } finally {
      execFileSync('ip', ['link', 'set', 'dev', veth.hostIf, 'xdpdrv', 'off']);
    }
  });

  it('says what to change when the filter cannot feed the XDP program', async () => {
    await expect(
      startProxy(`setLocal("127.0.0.1:\${PORT}")\nsetDefaultBPFFilter(newBPFFilter(8, 8, 8))\nattachXDPFilter{interfaces={"lo"}}`),
    ).rejects.toThrow('attachXDPFilter: the XDP filter reads the external map format');
    await expect(
      startProxy(`setLocal("127.0.0.1:\${PORT}")\nsetDefaultBPFFilter(newBPFFilter(8, 8, 8, true))\nattachXDPFilter{interfaces={"lo"}}`),
    ).rejects.toThrow("the filter's ipv4 map is not pinned");
    await expect(startProxy(`setLocal("127.0.0.1:\${PORT}")\nattachXDPFilter{interfaces={"lo"}}`)).rejects.toThrow(
      'attachXDPFilter: no filter to read: call setDefaultBPFFilter(bpf)',
    );
    expect(queryXdp('lo').mode).toBe('none');
  });
});
