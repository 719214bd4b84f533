import { sumPerCpuU64, type BpfMap } from '@dnsdist-ts/bpf';
import { layouts } from '@dnsdist-ts/bpf-filter';

const { xdp_stat } = layouts;
type CStat = Exclude<keyof typeof xdp_stat, 'STAT_MAX'>;

/**
 * The TypeScript name of each of the program's verdict counters (enum
 * xdp_stat in @dnsdist-ts/bpf-filter's bpf/dnsdist-maps.h): a counter added
 * there fails to typecheck until it is named here.
 */
const STAT_NAMES = {
  STAT_PASS: 'Pass',
  STAT_PASS_NOT_DNS: 'PassNotDns',
  STAT_ALLOW: 'Allow',
  STAT_ADDR_BASE: 'DropAddress',
  STAT_ADDR_TC: 'TruncateAddress',
  STAT_RANGE_BASE: 'DropRange',
  STAT_RANGE_TC: 'TruncateRange',
  STAT_QNAME_BASE: 'DropQName',
  STAT_QNAME_TC: 'TruncateQName',
  STAT_SUFFIX_BASE: 'DropSuffix',
  STAT_SUFFIX_TC: 'TruncateSuffix',
  STAT_DROP_TCP_SYN: 'DropTcpSyn',
  STAT_FRAGMENT: 'Fragment',
  STAT_NOT_QUERY: 'NotQuery',
  STAT_PARSE_TRUNCATED: 'ParseTruncated',
  STAT_PARSE_VLAN: 'ParseVlan',
  STAT_PARSE_EXTHDR: 'ParseExtensionHeaders',
  STAT_PARSE_QNAME: 'ParseQName',
  /** IP version not matching the EtherType, IPv4 header or total length impossible, UDP length under 8. */
  STAT_PARSE_HEADER: 'ParseBadHeader',
} as const satisfies Record<CStat, string>;

/** Indexes of the program's per-CPU `xdpstats` map, by TypeScript name. */
export const XdpStat = Object.fromEntries((Object.keys(STAT_NAMES) as CStat[]).map((c) => [STAT_NAMES[c], xdp_stat[c]])) as {
  readonly [C in CStat as (typeof STAT_NAMES)[C]]: (typeof xdp_stat)[C];
};
export type XdpStatName = keyof typeof XdpStat;
export const XDP_STAT_COUNT = xdp_stat.STAT_MAX;

/** Read the program's `xdpstats` map: each total summed over CPUs. */
export function readXdpStats(map: BpfMap): Record<XdpStatName, bigint> {
  const out = {} as Record<XdpStatName, bigint>;
  const key = Buffer.alloc(4);
  for (const [name, idx] of Object.entries(XdpStat) as Array<[XdpStatName, number]>) {
    key.writeUInt32LE(idx);
    // A stats map pinned by an older version may be shorter: absent totals are 0.
    out[name] = idx < map.maxEntries ? sumPerCpuU64(map.lookupPerCpu(key) ?? []) : 0n;
  }
  return out;
}
