import { sumPerCpuU64, type BpfMap } from '@dnsdist-ts/bpf';

/** Indexes of the program's per-CPU `xdpstats` map (enum xdp_stat in @dnsdist-ts/bpf-filter's bpf/dnsdist-maps.h). */
export const XdpStat = {
  Pass: 0,
  PassNotDns: 1,
  Allow: 2,
  DropAddress: 3,
  TruncateAddress: 4,
  DropRange: 5,
  TruncateRange: 6,
  DropQName: 7,
  TruncateQName: 8,
  DropSuffix: 9,
  TruncateSuffix: 10,
  DropTcpSyn: 11,
  Fragment: 12,
  NotQuery: 13,
  ParseTruncated: 14,
  ParseVlan: 15,
  ParseExtensionHeaders: 16,
  ParseQName: 17,
  /** IP version not matching the EtherType, IPv4 header or total length impossible, UDP length under 8. */
  ParseBadHeader: 18,
} as const;
export type XdpStatName = keyof typeof XdpStat;
export const XDP_STAT_COUNT = 19;

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
