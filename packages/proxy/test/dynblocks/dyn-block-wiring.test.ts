import { BPFFilter } from '@dnsdist-ts/bpf-filter';
import { wireDynamicBlocks } from '../../src/app/dyn-block-wiring.js';
import { ClientBlockRange } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import { DefaultBpfFilterRegistry } from '@dnsdist-ts/ebpf/ebpf/default-bpf-filter-registry.js';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { Rings } from '@dnsdist-ts/dataplane/rings/index.js';
import { RuleChains } from '@dnsdist-ts/dataplane/rules/index.js';
import { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { describeBpf } from '../../../../test/support/require-bpf.js';
import { waitFor } from '../support/dns-client.js';

const v4 = (text: string) => Uint8Array.from(text.split('.').map(Number));
/** The filter's entries, in a fixed order (the kernel map lists them in hash order). */
const entries = (f: BPFFilter) => f.getStats().split('\n').filter(Boolean).sort();

/** What the composition root (DnsdistApp) connects, reached from TypeScript alone: no Lua state is involved. */
describeBpf('the dynamic blocks as the application wires them, without Lua', () => {
  it('puts the check on the proxy, mirrors blocks into the default filter the registry publishes, and takes expired copies out on the proxy tick', async () => {
    const proxy = new DnsdistProxy((counters) => new RuleChains(counters), new Rings());
    proxy.log.sink = () => {};
    const registry = new DefaultBpfFilterRegistry(proxy.log);
    const dyn = wireDynamicBlocks(proxy, registry);
    expect(proxy.dynBlocks).toBe(dyn.check);
    // The legacy form: an unpinned filter taking address drops, all this needs.
    const filter = BPFFilter.fromArgs([8, 8, 8]);
    try {
      registry.set(filter);
      const now = performance.now();
      const block = (address: string, ms: number) =>
        dyn.blocks.addOrRefreshClientBlock(
          ClientBlockRange.of(v4(address), 0),
          { reason: 'wiring', action: DNSAction.Drop, until: now + ms, warning: false },
          { now, seconds: Math.ceil(ms / 1000), kernelEligible: true, source: 'lua' },
        );
      block('192.0.2.1', 60_000);
      block('192.0.2.2', 50);
      expect(entries(filter)).toEqual(['192.0.2.1: 0', '192.0.2.2: 0']);

      await waitFor('the short block to lapse', () => performance.now() > now + 50, 2000);
      proxy.tick();
      expect(entries(filter)).toEqual(['192.0.2.1: 0']);

      // setDefaultBPFFilter(nil): the blocks leave the filter that is no
      // longer the default (nothing stale stays in its maps) and later
      // blocks are userspace only.
      registry.set(undefined);
      expect(entries(filter)).toEqual([]);
      block('192.0.2.3', 60_000);
      expect(entries(filter)).toEqual([]);
      expect(dyn.blocks.activeClientBlocks(performance.now()).map((b) => b.keyText())).toContainEqual(expect.stringContaining('192.0.2.1'));
      expect(dyn.blocks.activeClientBlocks(performance.now()).map((b) => b.keyText())).toContainEqual(expect.stringContaining('192.0.2.3'));
    } finally {
      registry.close();
      filter.close();
    }
  });
});
