import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap } from '@dnsdist-ts/bpf';
import { EXTERNAL_QNAME_KEY_BYTES, NAME_INDEX_PIN, NameIndex, wireFromQNameKey, type NameIndexState } from '@dnsdist-ts/bpf-filter';
import { FILTER_MAPS } from './filter-maps.js';
import { SuffixMap } from './suffix-map.js';
import { XdpFilterError } from './xdp-filter-error.js';

/**
 * Whether the XDP program may trust the name index. `on`: every writer of
 * the qnames map is dnsdist-ts (or runs `xdp-filter reindex` after
 * writing). `off`: look every name up. `auto`: on, except the qname region
 * when dnsdist itself created the qnames map (an unnamed map): dnsdist
 * writes it without knowing of the index.
 */
export type NameIndexMode = 'auto' | 'on' | 'off';

export function isNameIndexMode(v: string): v is NameIndexMode {
  return v === 'auto' || v === 'on' || v === 'off';
}

/** The wire names of the qnames map's entries (the map must be in the external format). */
function qnameWires(map: BpfMap): Buffer[] {
  if (map.keySize !== EXTERNAL_QNAME_KEY_BYTES)
    throw new XdpFilterError(
      `the qnames map ${map.pinnedPath ?? ''} is not in the external format (key ${map.keySize} B): the XDP filter cannot use it`,
      map.pinnedPath,
    );
  return map.dump().map(([k]) => wireFromQNameKey(k));
}

/**
 * Rebuild the name index pinned in `pinDir` from the qnames and suffix maps
 * there (or mark regions incomplete), as `mode` says. Returns the state the
 * XDP program now sees.
 */
export function syncNameIndex(pinDir: string, mode: NameIndexMode = 'auto'): NameIndexState {
  const indexPath = join(pinDir, NAME_INDEX_PIN);
  if (!existsSync(indexPath))
    throw new XdpFilterError(`no name index at ${indexPath}: attach (or load) the XDP filter with this pin directory first`, indexPath);
  const index = NameIndex.openPinned(indexPath);
  try {
    if (mode === 'off') {
      index.disable('qnames');
      index.disable('suffixes');
      return index.state();
    }
    const suffixPath = join(pinDir, FILTER_MAPS.suffixfilter!.pin);
    if (existsSync(suffixPath)) {
      const suffixes = SuffixMap.openPinned(suffixPath);
      try {
        index.rebuild('suffixes', () => suffixes.wireNames());
      } finally {
        suffixes.close();
      }
    } else {
      // No suffix map: nothing is blocked by suffix; whoever creates one notes its entries.
      index.rebuild('suffixes', () => []);
    }
    const qnamePath = join(pinDir, FILTER_MAPS.qnamefilter!.pin);
    const qnames = existsSync(qnamePath) ? BpfMap.openPinned(qnamePath) : undefined;
    try {
      const wanted = mode === 'on' || qnames === undefined || qnames.name !== '';
      if (wanted) index.rebuild('qnames', () => (qnames ? qnameWires(qnames) : []));
      else index.disable('qnames');
    } finally {
      qnames?.close();
    }
    return index.state();
  } finally {
    index.close();
  }
}

/** The state of the name index pinned in `pinDir`, or undefined when there is none. */
export function nameIndexState(pinDir: string): NameIndexState | undefined {
  const index = NameIndex.openIn(pinDir);
  if (!index) return undefined;
  try {
    return index.state();
  } finally {
    index.close();
  }
}
