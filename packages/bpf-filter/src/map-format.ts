import { MapFlags, MapType } from '@dnsdist-ts/bpf';

/**
 * dnsdist's two map formats. Legacy is what its internal socket filter
 * reads (values are bare counters); WithActions ("external") is what an
 * external XDP program reads (counter + action).
 */
export const MapFormat = { Legacy: 0, WithActions: 1 } as const;
export type MapFormat = (typeof MapFormat)[keyof typeof MapFormat];

/** The maps a BPFFilter may hold. */
export type FilterMapKind = 'ipv4' | 'ipv6' | 'qnames' | 'cidr4' | 'cidr6';

export interface MapLayout {
  type: number;
  keySize: number;
  valueSize: number;
  flags: number;
}

/** Bytes of a qname in a key: wire format, lower-cased, zero-padded. */
export const QNAME_BYTES = 255;
/** Qtype meaning "every type" in dnsdist 1.x maps; 2.x uses 65535 (also honoured). */
export const QTYPE_ANY_1X = 255;
export const QTYPE_ANY_2X = 65535;

const LEGACY: Partial<Record<FilterMapKind, MapLayout>> = {
  ipv4: { type: MapType.Hash, keySize: 4, valueSize: 8, flags: 0 },
  ipv6: { type: MapType.Hash, keySize: 16, valueSize: 8, flags: 0 },
  qnames: { type: MapType.Hash, keySize: QNAME_BYTES, valueSize: 16, flags: 0 },
};

const WITH_ACTIONS: Record<FilterMapKind, MapLayout> = {
  ipv4: { type: MapType.Hash, keySize: 4, valueSize: 16, flags: 0 },
  ipv6: { type: MapType.Hash, keySize: 16, valueSize: 16, flags: 0 },
  qnames: { type: MapType.Hash, keySize: QNAME_BYTES + 3, valueSize: 16, flags: 0 },
  cidr4: { type: MapType.LpmTrie, keySize: 8, valueSize: 16, flags: MapFlags.NoPrealloc },
  cidr6: { type: MapType.LpmTrie, keySize: 20, valueSize: 16, flags: MapFlags.NoPrealloc },
};

/** The layout of one map in one format; undefined where the format has no such map. */
export function mapLayout(format: MapFormat, kind: FilterMapKind): MapLayout | undefined {
  return format === MapFormat.WithActions ? WITH_ACTIONS[kind] : LEGACY[kind];
}

export function formatName(format: MapFormat): string {
  return format === MapFormat.WithActions ? 'external (WithActions)' : 'legacy';
}

/** Which format a layout belongs to, for error messages about foreign maps. */
export function describeLayout(l: { type: number; keySize: number; valueSize: number; flags: number }): string {
  return `type ${l.type === MapType.LpmTrie ? 'lpm_trie' : l.type === MapType.Hash ? 'hash' : l.type}, key ${l.keySize} B, value ${l.valueSize} B, flags ${l.flags}`;
}
