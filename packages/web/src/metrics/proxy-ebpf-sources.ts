/**
 * The proxy's eBPF side (src/ebpf) as observability providers: the hit
 * counters of every BPF filter's maps (read with batch lookups at scrape
 * time), the registered DynBPFFilters for `ebpfblocklist`, and the XDP
 * program's verdict totals. Filters and XDP deployments created at
 * runtime are picked up at the next read.
 */
import type { DynBPFFilter } from '@dnsdist-ts/bpf-filter';
import { bpfFilterKernelCounters, dynBpfFilterBlockList, walkFilter, type CountedFilter } from './bpf-filter-sources.js';
import type {
  EbpfBlockListProvider,
  KernelCounterProvider,
  KernelCounterVisitor,
  XdpStatsProvider,
  XdpStatsSnapshot,
} from './observability-providers.js';
import { splitXdpStats } from './xdp-stats-split.js';

/** The eBPF members these sources read. */
export interface EbpfSide {
  readonly filters: readonly CountedFilter[];
  readonly dynFilters: Iterable<Pick<DynBPFFilter, 'getAddrStats'>>;
  readonly xdpDeployments: ReadonlyArray<{ stats(): Readonly<Record<string, bigint>> | undefined }>;
}

/** Every filter's entries (each filter's maps read once; a filter shared by two roles is listed once). */
export function ebpfKernelCounters(ebpf: EbpfSide): KernelCounterProvider {
  return {
    visitKernelCounters(visit: KernelCounterVisitor): void {
      for (const f of new Set(ebpf.filters)) bpfFilterKernelCounters(f).visitKernelCounters(visit);
    },
    *walkKernelCounters(visit: KernelCounterVisitor): Generator<void, void, void> {
      for (const f of new Set(ebpf.filters)) yield* walkFilter(f, visit);
    },
    kernelFilters: () => [...new Set(ebpf.filters)],
  };
}

export function ebpfRegisteredBlockList(ebpf: EbpfSide): EbpfBlockListProvider {
  return dynBpfFilterBlockList(() => ebpf.dynFilters);
}

/** The XDP programs' totals, summed when several deployments run; undefined totals before any started. */
export function ebpfXdpStats(ebpf: EbpfSide): XdpStatsProvider {
  return {
    xdpStats(): XdpStatsSnapshot {
      const sum: Record<string, bigint> = {};
      for (const d of ebpf.xdpDeployments) {
        for (const [k, v] of Object.entries(d.stats() ?? {})) sum[k] = (sum[k] ?? 0n) + v;
      }
      return splitXdpStats(sum);
    },
  };
}
