/**
 * BPFFilter.sharing: a second BPFFilter over the maps another one opened
 * (what a data-plane worker's newBPFFilter gets from the control plane).
 */
import { BPFFilter } from '../src/bpf-filter.js';
import { parseBPFFilterArgs } from '../src/bpf-filter-options.js';
import { MatchAction } from '../src/match-action.js';
import { secondsFromNow } from '../src/monotonic-clock.js';
import { describeBpf } from '../../../test/support/require-bpf.js';

describeBpf('BPFFilter.sharing', () => {
  const args = [{ ipv4MaxItems: 8, ipv6MaxItems: 8, qnamesMaxItems: 8, cidr4MaxItems: 8, external: true }];

  it("writes and reads the owner's maps, expiry included, and closing it leaves the owner's open", () => {
    const owner = BPFFilter.fromArgs(args);
    const shared = BPFFilter.sharing(parseBPFFilterArgs(args), owner.handles());
    try {
      shared.block('192.0.2.1', MatchAction.Truncate, { until: secondsFromNow(60) });
      shared.blockQName('example.test.', 255, MatchAction.Drop);
      shared.addRangeRule('198.51.100.0/24', MatchAction.Drop);
      expect(owner.getStats()).toContain('192.0.2.1: 0');
      expect(owner.getStats()).toContain('example.test. ANY: 0');
      expect(owner.lsRangeRule()).toContain('198.51.100.0/24');
      // The timed entry's expiry went into the owner's expiry map: the owner sees it as temporary.
      expect(owner.expiringEntries().map((e) => (e.kind === 'ipv4' ? e.address : ''))).toContain('192.0.2.1');
      shared.close();
      owner.block('192.0.2.2');
      expect(owner.getStats()).toContain('192.0.2.2: 0');
    } finally {
      shared.close();
      owner.close();
    }
  });

  it('refuses options that do not describe the shared maps, naming the difference', () => {
    const owner = BPFFilter.fromArgs(args);
    try {
      expect(() =>
        BPFFilter.sharing(parseBPFFilterArgs([{ ipv4MaxItems: 8, ipv6MaxItems: 8, qnamesMaxItems: 8, external: true }]), owner.handles()),
      ).toThrow(/has ipv4, ipv6, qnames, cidr4 maps, this one ipv4, ipv6, qnames$/);
      expect(() => BPFFilter.sharing(parseBPFFilterArgs([8, 8, 8]), owner.handles())).toThrow(/is external, this one is the other way/);
    } finally {
      owner.close();
    }
  });
});
