import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap } from '@dnsdist-ts/bpf';
import { BPFFilter, CONVENTIONAL_PIN_NAMES, pinnedExternalOptions, type FilterMapKind } from '@dnsdist-ts/bpf-filter';
import { FILTER_MAPS } from './filter-maps.js';
import { SuffixMap } from './suffix-map.js';

const DEFAULT_SIZE = 1024;

function sizeOf(path: string): number {
  if (!existsSync(path)) return DEFAULT_SIZE;
  const m = BpfMap.openPinned(path);
  try {
    return m.maxEntries;
  } finally {
    m.close();
  }
}

/**
 * The BPFFilter over the maps pinned in `pinDir` (created in the external
 * format where missing), sized as they already are, plus the suffix map.
 */
export function openPinnedFilter(pinDir: string): { filter: BPFFilter; suffixes: SuffixMap } {
  const p = (name: string) => join(pinDir, name);
  const sizes = Object.fromEntries(Object.entries(CONVENTIONAL_PIN_NAMES).map(([kind, pin]) => [kind, sizeOf(p(pin))])) as Record<
    FilterMapKind,
    number
  >;
  const filter = new BPFFilter(pinnedExternalOptions(pinDir, sizes));
  const spec = FILTER_MAPS.suffixfilter!;
  const path = p(spec.pin);
  let suffixes: SuffixMap;
  if (existsSync(path)) {
    suffixes = SuffixMap.openPinned(path);
  } else {
    const m = BpfMap.create({
      type: spec.type,
      name: 'suffixfilter',
      keySize: spec.keySize,
      valueSize: spec.valueSize,
      maxEntries: DEFAULT_SIZE,
    });
    m.pin(path);
    suffixes = new SuffixMap(m);
  }
  return { filter, suffixes };
}
