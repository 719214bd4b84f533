import type { BpfMap, PinTransaction } from '@dnsdist-ts/bpf';
import { BPFFilterError } from './bpf-filter-error.js';
import type { FilterMapOptions } from './bpf-filter-options.js';
import { describeLayout, formatName, mapLayout, MapFormat, type FilterMapKind, type MapLayout } from './map-format.js';

/** Kernel-visible names (dnsdist creates its maps unnamed). */
const MAP_NAMES: Record<FilterMapKind, string> = {
  ipv4: 'dnsdist_v4',
  ipv6: 'dnsdist_v6',
  qnames: 'dnsdist_qnames',
  cidr4: 'dnsdist_cidr4',
  cidr6: 'dnsdist_cidr6',
};

export interface OpenedFilterMap {
  map: BpfMap;
  /** True when an existing pinned map (and its entries) was reused. */
  reused: boolean;
}

function sameLayout(a: MapLayout, b: MapLayout): boolean {
  return a.type === b.type && a.keySize === b.keySize && a.valueSize === b.valueSize && a.flags === b.flags;
}

/**
 * The map for `kind`: the one pinned at its path if there is one, checked
 * for type, key size, value size and flags against `format`; else a new
 * one whose pin is planned in `pins` (made at the transaction's commit,
 * after every path of the configuration has been checked). A pinned map
 * in another layout is never recreated or unpinned: it may hold entries
 * somebody relies on.
 */
export function openFilterMap(kind: FilterMapKind, format: MapFormat, opts: FilterMapOptions, pins: PinTransaction): OpenedFilterMap {
  const layout = mapLayout(format, kind);
  if (!layout) throw new BPFFilterError(`the ${formatName(format)} format has no ${kind} map`, kind);
  const path = opts.pinnedPath;
  return pins.openOrCreate({ ...layout, name: MAP_NAMES[kind], maxEntries: opts.maxItems }, path, (map, source) => {
    const actual: MapLayout = { type: map.type, keySize: map.keySize, valueSize: map.valueSize, flags: map.flags };
    if (sameLayout(actual, layout)) return;
    if (source === 'planned') {
      throw new BPFFilterError(
        `Error checking the eBPF map pinned at ${path}: another map of this configuration, with ${describeLayout(actual)}, is to be pinned there, but the ${formatName(format)} ${kind} map needs ${describeLayout(layout)}; give each its own pinnedPath`,
        path,
      );
    }
    const other = format === MapFormat.WithActions ? MapFormat.Legacy : MapFormat.WithActions;
    const otherLayout = mapLayout(other, kind);
    const isOther = otherLayout !== undefined && sameLayout(actual, otherLayout);
    const advice = isOther
      ? `it is in the ${formatName(other)} format: set external=${other === MapFormat.WithActions} to use it as it is, or remove it (rm ${path}) to have it recreated`
      : `remove it (rm ${path}) to have it recreated, or point ${kind}PinnedPath elsewhere`;
    throw new BPFFilterError(
      `Error checking the eBPF map pinned at ${path}: it has ${describeLayout(actual)} but the ${formatName(format)} ${kind} map needs ${describeLayout(layout)}; ${advice}`,
      path,
    );
  });
}
