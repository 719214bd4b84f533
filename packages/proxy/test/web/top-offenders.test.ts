import type { DynBlockView } from '@dnsdist-ts/web/metrics/observability-providers.js';
import { TopOffendersTracker } from '@dnsdist-ts/web/metrics/top-offenders.js';

function block(key: string, hits: number, reason = 'r', kind: 'netmask' | 'suffix' = 'netmask'): DynBlockView {
  return { kind, key, reason, action: 'Drop', seconds: 60, blocks: hits, kernelHits: 0, warning: false, ebpf: false };
}

describe('TopOffendersTracker', () => {
  it('rates blocks by their hit growth over the last minute of 10-second samples', () => {
    const t = new TopOffendersTracker();
    // 0 s … 70 s: a.b grows 10/s throughout; c grows only in the first 20 s.
    for (let s = 0; s <= 70; s += 10) t.sample([block('192.0.2.1/32', 10 * s), block('192.0.2.2/32', Math.min(s, 20) * 5)], s * 1000);
    const nm = t.current().netmasks.get('r')!;
    // The window is 10 s … 70 s: a.b grew 600 in 60 s; c grew 50 (from 50 to 100) in 60 s.
    expect(nm).toEqual([
      ['192.0.2.1/32', 10],
      ['192.0.2.2/32', 50 / 60],
    ]);
  });

  it('keeps the top 20 per reason, separates netmasks from suffixes, and counts kernel hits', () => {
    const t = new TopOffendersTracker();
    const at0 = Array.from({ length: 25 }, (_, i) => block(`10.0.0.${i}/32`, 0, 'flood'));
    t.sample([...at0, block('evil.example.', 0, 'names', 'suffix')], 0);
    const at10 = Array.from({ length: 25 }, (_, i) => ({ ...block(`10.0.0.${i}/32`, i, 'flood'), kernelHits: i * 9 }));
    t.sample([...at10, block('evil.example.', 30, 'names', 'suffix')], 10_000);
    const flood = t.current().netmasks.get('flood')!;
    expect(flood).toHaveLength(20);
    expect(flood[0]).toEqual(['10.0.0.24/32', 24]);
    expect(t.current().suffixes.get('names')).toEqual([['evil.example.', 3]]);
  });

  it('reports nothing from a single sample, and nothing for a block re-created with fewer hits', () => {
    const t = new TopOffendersTracker();
    t.sample([block('192.0.2.1/32', 500)], 0);
    expect(t.current().netmasks.size).toBe(0);
    t.sample([block('192.0.2.1/32', 3)], 10_000);
    expect(t.current().netmasks.size).toBe(0);
  });
});
