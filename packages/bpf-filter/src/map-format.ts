import { MapFlags, MapType } from '@dnsdist-ts/bpf';
import {
  addr4_key,
  addr6_key,
  cidr4_key,
  cidr6_key,
  legacy_qname_key,
  legacy_qname_value,
  legacy_value,
  map_value,
  qname_key,
} from './generated/layouts.js';

/** Bytes of a qname in a key; the qtypes meaning "every type" in dnsdist 1.x and 2.x maps (both honoured). */
export { QNAME_BYTES, QTYPE_ANY_1X, QTYPE_ANY_2X } from './generated/layouts.js';

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

const LEGACY: Partial<Record<FilterMapKind, MapLayout>> = {
  ipv4: { type: MapType.Hash, keySize: addr4_key.sizeof, valueSize: legacy_value.sizeof, flags: 0 },
  ipv6: { type: MapType.Hash, keySize: addr6_key.sizeof, valueSize: legacy_value.sizeof, flags: 0 },
  qnames: { type: MapType.Hash, keySize: legacy_qname_key.sizeof, valueSize: legacy_qname_value.sizeof, flags: 0 },
};

const WITH_ACTIONS: Record<FilterMapKind, MapLayout> = {
  ipv4: { type: MapType.Hash, keySize: addr4_key.sizeof, valueSize: map_value.sizeof, flags: 0 },
  ipv6: { type: MapType.Hash, keySize: addr6_key.sizeof, valueSize: map_value.sizeof, flags: 0 },
  qnames: { type: MapType.Hash, keySize: qname_key.sizeof, valueSize: map_value.sizeof, flags: 0 },
  cidr4: { type: MapType.LpmTrie, keySize: cidr4_key.sizeof, valueSize: map_value.sizeof, flags: MapFlags.NoPrealloc },
  cidr6: { type: MapType.LpmTrie, keySize: cidr6_key.sizeof, valueSize: map_value.sizeof, flags: MapFlags.NoPrealloc },
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
