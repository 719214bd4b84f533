import { MapFlags, MapType } from '@dnsdist-ts/bpf';
import { layouts } from '@dnsdist-ts/bpf-filter';

const { addr4_key, addr6_key, cidr4_key, cidr6_key, map_value, qname_key, suffix_key, suffix_value } = layouts;

/** Where the program's maps are pinned, by map name in the object. */
export interface FilterMapPin {
  /** File name under the pin directory. */
  pin: string;
  /** dnsdist's own map (external format) or one of ours. */
  owner: 'dnsdist' | 'dnsdist-ts';
  type: number;
  keySize: number;
  valueSize: number;
  flags: number;
}

/**
 * The maps the XDP program reads, by their names in the object. dnsdist's
 * maps keep dnsdist's pin names and layouts (its external format), so maps
 * created by dnsdist 1.7.3, by dnsdist-ts or by this loader are
 * interchangeable; ours are created next to them when missing.
 */
export const FILTER_MAPS: Record<string, FilterMapPin> = {
  v4filter: { pin: 'addr-v4', owner: 'dnsdist', type: MapType.Hash, keySize: addr4_key.sizeof, valueSize: map_value.sizeof, flags: 0 },
  v6filter: { pin: 'addr-v6', owner: 'dnsdist', type: MapType.Hash, keySize: addr6_key.sizeof, valueSize: map_value.sizeof, flags: 0 },
  qnamefilter: { pin: 'qnames', owner: 'dnsdist', type: MapType.Hash, keySize: qname_key.sizeof, valueSize: map_value.sizeof, flags: 0 },
  cidr4filter: {
    pin: 'cidr4',
    owner: 'dnsdist',
    type: MapType.LpmTrie,
    keySize: cidr4_key.sizeof,
    valueSize: map_value.sizeof,
    flags: MapFlags.NoPrealloc,
  },
  cidr6filter: {
    pin: 'cidr6',
    owner: 'dnsdist',
    type: MapType.LpmTrie,
    keySize: cidr6_key.sizeof,
    valueSize: map_value.sizeof,
    flags: MapFlags.NoPrealloc,
  },
  suffixfilter: {
    pin: 'suffixes',
    owner: 'dnsdist-ts',
    type: MapType.Hash,
    keySize: suffix_key.sizeof,
    valueSize: suffix_value.sizeof,
    flags: 0,
  },
  // Arrays of u64 indexed by u32: the name index and the per-CPU verdict counters.
  nameindex: { pin: 'name-index', owner: 'dnsdist-ts', type: MapType.Array, keySize: 4, valueSize: 8, flags: 0 },
  xdpstats: { pin: 'xdp-stats', owner: 'dnsdist-ts', type: MapType.PerCpuArray, keySize: 4, valueSize: 8, flags: 0 },
};

export const DEFAULT_PIN_DIR = '/sys/fs/bpf/dnsdist';
