import { existsSync } from 'node:fs';
import { BpfMap } from '@dnsdist-ts/bpf';
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
 * Open the pinned map for `kind` if one exists, checking type, key size,
 * value size and flags against `format`; otherwise create it (and pin it,
 * creating parent directories on bpffs). A pinned map in another layout
 * is never recreated or unpinned: it may hold entries somebody relies on.
 */
export function openFilterMap(kind: FilterMapKind, format: MapFormat, opts: FilterMapOptions): OpenedFilterMap {
  const layout = mapLayout(format, kind);
  if (!layout) throw new BPFFilterError(`the ${formatName(format)} format has no ${kind} map`, kind);
  const path = opts.pinnedPath;
  if (path && existsSync(path)) {
    const map = BpfMap.openPinned(path);
    const actual: MapLayout = { type: map.type, keySize: map.keySize, valueSize: map.valueSize, flags: map.flags };
    if (!sameLayout(actual, layout)) {
      map.close();
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
    }
    return { map, reused: true };
  }
  return { map: BpfMap.createPinned({ ...layout, name: MAP_NAMES[kind], maxEntries: opts.maxItems }, path), reused: false };
}
