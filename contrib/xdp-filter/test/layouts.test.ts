import { BpfObject } from '@dnsdist-ts/bpf';
import { layouts } from '@dnsdist-ts/bpf-filter';
import { FILTER_MAPS } from '../src/filter-maps.js';
import { XDP_FILTER_OBJECT } from '../src/xdp-filter.js';
import { XDP_STAT_COUNT, XdpStat } from '../src/xdp-stats.js';

describe('xdp-filter: the loader and the object agree on the layouts of bpf/dnsdist-maps.h', () => {
  it('every map of the object has the type, key, value and flags the loader checks pins against', () => {
    const obj = BpfObject.open(XDP_FILTER_OBJECT);
    try {
      const declared = obj.maps().filter((m) => !m.name.includes('.') && m.name !== 'scratch_space');
      expect(declared.map((m) => m.name).sort()).toEqual(Object.keys(FILTER_MAPS).sort());
      for (const m of declared) {
        const { type, keySize, valueSize, flags } = FILTER_MAPS[m.name]!;
        expect({ name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, flags: m.flags }).toEqual({
          name: m.name,
          type,
          keySize,
          valueSize,
          flags,
        });
      }
      const byName = new Map(obj.maps().map((m) => [m.name, m]));
      expect(byName.get('xdpstats')!.maxEntries).toBe(XDP_STAT_COUNT);
      expect(byName.get('nameindex')!.maxEntries).toBe(layouts.NAME_INDEX_DEFAULT_ENTRIES);
      expect(obj.maps().find((m) => m.name.endsWith('.rodata'))!.valueSize).toBe(layouts.filter_config.sizeof);
    } finally {
      obj.close();
    }
  });

  it('every verdict counter of enum xdp_stat has one TypeScript name', () => {
    const indexes = Object.values(XdpStat).sort((a, b) => a - b);
    expect(indexes).toEqual(Array.from({ length: XDP_STAT_COUNT }, (_, i) => i));
    expect(XdpStat.DropAddress + 1).toBe(XdpStat.TruncateAddress);
    expect(XdpStat.ParseBadHeader).toBe(layouts.xdp_stat.STAT_PARSE_HEADER);
  });
});
