/**
 * The top offenders are sampled every 10 s from the blocks that have hits
 * only: with 100,000 idle blocks a sample made a view (and a key text) of
 * every one, holding the event loop ~100 ms. The lists must be the same as
 * when sampling every block. Pure logic: the kernel is the FakeKernelSink.
 */
import { DNSName, parseAddress } from '@dnsdist-ts/dns';
import { ClientBlockRange } from '@dnsdist-ts/dynblocks/dynblocks/client-block-range.js';
import { DynBlock } from '@dnsdist-ts/dynblocks/dynblocks/dyn-block.js';
import { DynamicBlocksSource } from '@dnsdist-ts/web/metrics/dynamic-blocks-source.js';
import { TopOffendersTracker } from '@dnsdist-ts/web/metrics/top-offenders.js';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { FakeKernelSink } from '../dynblocks/fake-kernel-sink.js';
import { TestWorld } from '../dynblocks/test-clock-world.js';

describe('top-offender samples', () => {
  it('list only the blocks with hits, and rank them as a sample of every block does', () => {
    const w = new TestWorld();
    const sink = new FakeKernelSink();
    w.blocks.setKernelSink(sink, 0);
    const now = performance.now();
    const spec = { reason: 'flood', action: DNSAction.Drop, until: now + 600_000, warning: false };
    for (let i = 0; i < 1000; i++) {
      const range = ClientBlockRange.of(parseAddress(`10.0.${i >> 8}.${i & 255}`).bytes, 0);
      w.blocks.addOrRefreshClientBlock(range, spec, { now, seconds: 600, kernelEligible: i % 2 === 0 });
    }
    w.blocks.addOrRefreshSuffixBlock(DNSName.fromString('bad.example'), spec, { now, seconds: 600, kernelEligible: true });
    const source = new DynamicBlocksSource(w.blocks);
    const withHits = new TopOffendersTracker();
    const all = new TopOffendersTracker();
    const sample = (at: number) => {
      withHits.sample(source.activeBlocksWithHits(), at);
      all.sample(source.activeBlocks(), at);
    };
    sample(0);
    // Userspace hits on an odd (userspace-only) block, kernel hits on an even one and on the suffix.
    w.blocks.clients.get(ClientBlockRange.of(parseAddress('10.0.0.1').bytes, 0))!.blocks += 30;
    sink.hit('address:10.0.0.4', 50);
    sink.hit('suffix:bad.example.', 7);
    w.blocks.kernel.collectAllHits();
    sample(10_000);
    expect(withHits.current()).toEqual(all.current());
    expect(withHits.current().netmasks.get('flood')).toEqual([
      ['10.0.0.4/32', 5],
      ['10.0.0.1/32', 3],
    ]);
    // Only those three got a view: the other 998 idle blocks were passed over.
    let texts = 0;
    const keyText = DynBlock.prototype.keyText;
    DynBlock.prototype.keyText = function (this: DynBlock) {
      texts++;
      return keyText.call(this);
    };
    try {
      expect(source.activeBlocksWithHits().map((v) => v.key)).toEqual(['10.0.0.1/32', '10.0.0.4/32', 'bad.example.']);
    } finally {
      DynBlock.prototype.keyText = keyText;
    }
    expect(texts).toBe(3);
  });
});
