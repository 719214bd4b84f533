import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap } from '@dnsdist-ts/bpf';
import {
  EXTERNAL_QNAME_KEY_BYTES,
  NAME_INDEX_PIN,
  NameIndex,
  wireFromQNameKey,
  type NameIndexScan,
  type NameIndexState,
} from '@dnsdist-ts/bpf-filter';
import { FILTER_MAPS } from './filter-maps.js';
import { SuffixMap } from './suffix-map.js';
import { XdpFilterError } from './xdp-filter-error.js';

/**
 * How the XDP program may use the name index.
 * - `auto` (the default): both parts guarded — used only while an index
 *   guard (a dnsdist-ts process: the proxy, `xdp-filter maintain`) keeps
 *   them covering every entry, whoever wrote it; otherwise every name is
 *   looked up.
 * - `trusted`: used as is. The operator's promise that every writer of
 *   `qnames` and `suffixes` is dnsdist-ts (or that `xdp-filter reindex`
 *   runs after anything else writes): an entry written by dnsdist itself
 *   or bpftool is not matched until then.
 * - `off`: every name is looked up.
 * `on` is accepted for `trusted` (its name before the guard existed).
 */
export type NameIndexMode = 'auto' | 'trusted' | 'off';

export function isNameIndexMode(v: string): v is NameIndexMode {
  return v === 'auto' || v === 'trusted' || v === 'off';
}

/** A mode from the command line or a configuration: `on` is the old name of `trusted`; undefined when unknown. */
export function parseNameIndexMode(v: string): NameIndexMode | undefined {
  if (v === 'on') return 'trusted';
  return isNameIndexMode(v) ? v : undefined;
}

/** The wire names of the qnames map's entries (the map must be in the external format). */
function qnameScan(map: BpfMap): NameIndexScan {
  if (map.keySize !== EXTERNAL_QNAME_KEY_BYTES)
    throw new XdpFilterError(
      `the qnames map ${map.pinnedPath ?? ''} is not in the external format (key ${map.keySize} B): the XDP filter cannot use it`,
      map.pinnedPath,
    );
  return { names: map.dump().map(([k]) => wireFromQNameKey(k)), complete: true };
}

/**
 * Rebuild the name index pinned in `pinDir` from the qnames and suffix maps
 * there, and set both parts to `mode`. Returns the state the XDP program
 * now sees.
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
    const regionMode = mode === 'trusted' ? 'trusted' : 'guarded';
    const suffixPath = join(pinDir, FILTER_MAPS.suffixfilter!.pin);
    if (existsSync(suffixPath)) {
      const suffixes = SuffixMap.openPinned(suffixPath);
      try {
        index.rebuild('suffixes', () => suffixes.wireNames(), regionMode);
      } finally {
        suffixes.close();
      }
    } else {
      // No suffix map: nothing is blocked by suffix; whoever creates one notes its entries.
      index.rebuild('suffixes', () => ({ names: [], complete: true }), regionMode);
    }
    const qnamePath = join(pinDir, FILTER_MAPS.qnamefilter!.pin);
    const qnames = existsSync(qnamePath) ? BpfMap.openPinned(qnamePath) : undefined;
    try {
      index.rebuild('qnames', () => (qnames ? qnameScan(qnames) : { names: [], complete: true }), regionMode);
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
