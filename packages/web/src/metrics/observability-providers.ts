/**
 * What the webserver, the JSON endpoints, the dashboard and `/metrics`
 * read from parts of the proxy that live elsewhere: the dynamic-block
 * engine, the BPF filters and the XDP program. Each is a small interface
 * read at scrape or request time (never on the query path); an absent
 * provider reads as "nothing there", so the surfaces work before those
 * parts are configured, and a provider can be swapped at runtime.
 *
 * The composition root connects them once (`connectProxyObservability` in
 * web/proxy-observability.ts, called from app/dnsdist-app.ts) on
 * `app.web.providers`; a test can replace one there (see docs/observability.md):
 *
 * ```ts
 * app.web.providers.dynBlocks = engine;            // DynBlockListProvider (+ DynBlockEngineStatsProvider, BlockControl)
 * app.web.providers.kernelCounters.push(ebpfKernelCounters(ebpf));
 * app.web.providers.xdpStats = ebpfXdpStats(ebpf);
 * ```
 */

import type { BPFFilter } from '@dnsdist-ts/bpf-filter';

/** One active dynamic block, as every surface shows it. */
export interface DynBlockView {
  /** `netmask`: a client range (dnsdist's address tree); `suffix`: a qname and its sub-names (the suffix tree). */
  readonly kind: 'netmask' | 'suffix';
  /** "192.0.2.1/32", "2001:db8::/64", or "example.com." (dnsdist's keys in `dynblocklist`). */
  readonly key: string;
  readonly reason: string;
  /** dnsdist's display string of the effective action: "Drop", "Send Refused", "Truncate over UDP", "Do nothing", … */
  readonly action: string;
  /** Whole seconds left. */
  readonly seconds: number;
  /** Queries the userspace block applied to. */
  readonly blocks: number;
  /** Packets the kernel matched for this block's kernel entry (0 when `ebpf` is false). */
  readonly kernelHits: number;
  /** A warning block (action forced to "Do nothing"). */
  readonly warning: boolean;
  /** Also enforced by a kernel map entry. */
  readonly ebpf: boolean;
  /** The fleet node that made the block, when it came from a fleet peer (setDynBlocksSync); absent for local blocks. */
  readonly origin?: string;
}

/** The dynamic-block engine's current blocks. */
export interface DynBlockListProvider {
  /** Blocks that have not expired, address blocks first. */
  activeBlocks(): readonly DynBlockView[];
  /** Entries in the address tree, expired-but-not-purged ones included (`dyn-block-nmg-size`). */
  nmgSize(): number;
  /** Active blocks counted by kind and enforcement, without listing them (a scrape with 100,000 blocks needs only this). */
  activeBlockCounts?(): ActiveBlockCounts;
  /**
   * The active blocks that have acted on at least one query (`blocks +
   * kernelHits > 0`), without a view of every idle one: what the top
   * offenders sample every 10 s.
   */
  activeBlocksWithHits?(): readonly DynBlockView[];
}

/** How many blocks are in force, by kind and by where they are enforced. */
export interface ActiveBlockCounts {
  readonly netmaskKernel: number;
  readonly netmaskUserspace: number;
  readonly suffixKernel: number;
  readonly suffixUserspace: number;
}

/** A histogram the engine keeps itself: per-bucket counts (not cumulative), the last one for +Inf. */
export interface HistogramSnapshot {
  /** Upper bounds of the finite buckets, ascending. */
  readonly bounds: readonly number[];
  /** `bounds.length + 1` counts; the last is the +Inf bucket. */
  readonly counts: readonly number[];
  readonly sum: number;
}

/** The dynamic-block engine's own counters (totals since start); what an engine does not count is left out. */
export interface DynBlockEngineStats {
  /** New blocks (including blocks replacing an expired or warning entry). */
  readonly insertions?: number;
  /** Existing blocks whose expiry was pushed back. */
  readonly refreshes?: number;
  /** Blocks removed because they expired. */
  readonly expiries?: number;
  /** Blocks the kernel refused, by reason (table full, unsupported action, …). */
  readonly kernelInsertFailures: Readonly<Record<string, number>>;
  /** Seconds from a client crossing a rule's threshold to its block being enforced. */
  readonly timeToBlock?: HistogramSnapshot;
}

export interface DynBlockEngineStatsProvider {
  engineStats(): DynBlockEngineStats;
}

/** The kinds the block API and the kernel counters know. */
export type BlockKind = 'address' | 'range' | 'name' | 'suffix';

/** A block to add through the block API. */
export interface BlockRequest {
  readonly kind: BlockKind;
  /** An address, a CIDR range, or a domain name. */
  readonly target: string;
  /** A dynamic-block action name: Drop, Nxdomain, Refused, Truncate, NoOp, NoRecurse. */
  readonly action: string;
  readonly seconds: number;
  readonly reason: string;
}

/** The block API's way into the dynamic-block engine (so kernel maps and userspace stay in step). */
export interface BlockControl {
  /**
   * Insert or refresh a block; returns it as listed.
   *
   * @throws Error whose message says what is wrong with the request (answered as 400).
   */
  addBlock(request: BlockRequest): DynBlockView;
  /** Remove a block now (userspace and kernel); false when there was none. */
  removeBlock(kind: BlockKind, target: string): boolean;
}

/** One entry of a DynBPFFilter registered with registerDynBPFFilter (1.7.3's `ebpfblocklist`). */
export interface RegisteredFilterBlock {
  /** The address without prefix length ("198.51.100.7"). */
  readonly address: string;
  readonly blocks: number;
  readonly seconds: number;
}

export interface EbpfBlockListProvider {
  registeredFilterBlocks(): readonly RegisteredFilterBlock[];
}

/**
 * Called once per kernel map entry: its kind, key (address, range
 * "10.0.0.0/8", or name "example.com."), lower-case action ("pass",
 * "drop", "truncate"), hit counter, and for exact-name entries the qtype
 * they match (255 or 65535 = any).
 */
export type KernelCounterVisitor = (kind: BlockKind, key: string, action: string, hits: number | bigint, qtype?: number) => void;

/**
 * Something that can list kernel entries with their counters (a BPF
 * filter, the XDP suffix map). A visitor rather than a list, so 100,000
 * entries cost no intermediate objects.
 */
export interface KernelCounterProvider {
  /** Read the maps (with batch lookups) and visit every entry; called once per scrape. */
  visitKernelCounters(visit: KernelCounterVisitor): void;
  /**
   * The same walk in steps: each `next()` visits a few hundred entries, so
   * the scrape can let the event loop run between steps. Optional: without
   * it the scrape visits the provider's entries in one go.
   */
  walkKernelCounters?(visit: KernelCounterVisitor): Iterator<void>;
  /**
   * The BPF filters this provider walks, in walk order, when that is all it
   * reads: the scrape then has their maps read and the per-entry family
   * written on a thread of its own (kernel-entries-thread.ts), off the event
   * loop that answers DNS. Optional: without it the walk runs on the event loop.
   */
  kernelFilters?(): readonly KernelFilter[];
}

/** A BPF filter's maps, as a renderer thread reads them. */
export type KernelFilter = Pick<BPFFilter, 'map' | 'external'>;

/** The XDP program's totals. */
export interface XdpStatsSnapshot {
  /** Packets per verdict ("pass", "drop_address", "truncate_suffix", …). */
  readonly verdicts: Readonly<Record<string, number | bigint>>;
  /** Packets the program could not parse, per reason ("truncated", "qname", …). */
  readonly parseFailures: Readonly<Record<string, number | bigint>>;
}

export interface XdpStatsProvider {
  xdpStats(): XdpStatsSnapshot;
}

/** Fleet-wide block sync (setDynBlocksSync), as /metrics reads it. */
export interface FleetStatsSnapshot {
  readonly configured: boolean;
  readonly connected: boolean;
  readonly published: number;
  readonly publishFailures: number;
  readonly received: number;
  readonly removalsReceived: number;
  readonly refused: ReadonlyMap<string, number>;
  readonly resyncs: number;
  readonly disconnects: number;
  readonly lastLagMs: number;
  readonly remoteBlocks: number;
}

export interface FleetStatsProvider {
  stats(): FleetStatsSnapshot;
}

/** The CrowdSec bouncer (setCrowdSecBouncer), as /metrics reads it. */
export interface CrowdSecStatsSnapshot {
  readonly configured: boolean;
  readonly connected: boolean;
  readonly applied: number;
  readonly removed: number;
  readonly refused: ReadonlyMap<string, number>;
  readonly pollFailures: number;
  /** Unix time of the last successful poll, seconds; 0 before the first. */
  readonly lastPoll: number;
  readonly active: number;
}

export interface CrowdSecStatsProvider {
  stats(): CrowdSecStatsSnapshot;
}

/** The CrowdSec watcher (setCrowdSecWatcher), as /metrics reads it. */
export interface CrowdSecWatcherStatsProvider {
  stats(): { readonly configured: boolean; readonly sent: number; readonly dropped: number; readonly queued: number };
}

/** The providers the observability surfaces read; all optional. */
export class ObservabilityProviders {
  /** The dynamic-block engine: block list (and, when it implements them, engine stats and block control). */
  dynBlocks: (DynBlockListProvider & Partial<DynBlockEngineStatsProvider> & Partial<BlockControl>) | undefined;
  /** registerDynBPFFilter'd filters. */
  ebpfBlockList: EbpfBlockListProvider | undefined;
  /** Kernel maps with per-entry counters (the default BPF filter, the XDP suffix map…). */
  readonly kernelCounters: KernelCounterProvider[] = [];
  xdpStats: XdpStatsProvider | undefined;
  /** Fleet sync, when the node can join a fleet. */
  fleet: FleetStatsProvider | undefined;
  /** The CrowdSec bouncer, when the node can run one. */
  crowdsec: CrowdSecStatsProvider | undefined;
  /** The CrowdSec watcher, when the node can run one. */
  crowdsecWatcher: CrowdSecWatcherStatsProvider | undefined;

  /** The block list, or none. */
  activeBlocks(): readonly DynBlockView[] {
    return this.dynBlocks?.activeBlocks() ?? [];
  }

  nmgSize(): number {
    return this.dynBlocks?.nmgSize() ?? 0;
  }

  /** The active blocks with hits (filtered from the list when the engine cannot list them itself). */
  activeBlocksWithHits(): readonly DynBlockView[] {
    const d = this.dynBlocks;
    if (d && typeof d.activeBlocksWithHits === 'function') return d.activeBlocksWithHits();
    return this.activeBlocks().filter((b) => b.blocks + b.kernelHits > 0);
  }

  /** Active blocks by kind and enforcement (counted from the list when the engine cannot count them itself). */
  activeBlockCounts(): ActiveBlockCounts {
    const d = this.dynBlocks;
    if (d && typeof d.activeBlockCounts === 'function') return d.activeBlockCounts();
    const c = { netmaskKernel: 0, netmaskUserspace: 0, suffixKernel: 0, suffixUserspace: 0 };
    for (const b of this.activeBlocks()) {
      if (b.kind === 'netmask' && b.ebpf) c.netmaskKernel++;
      else if (b.kind === 'netmask') c.netmaskUserspace++;
      else if (b.ebpf) c.suffixKernel++;
      else c.suffixUserspace++;
    }
    return c;
  }

  /** The block API's engine, when the dynamic-block engine offers one. */
  blockControl(): BlockControl | undefined {
    const d = this.dynBlocks;
    return d && typeof d.addBlock === 'function' && typeof d.removeBlock === 'function' ? (d as BlockControl) : undefined;
  }

  engineStats(): DynBlockEngineStats | undefined {
    const d = this.dynBlocks;
    return d && typeof d.engineStats === 'function' ? d.engineStats() : undefined;
  }
}
