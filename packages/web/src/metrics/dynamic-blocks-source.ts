/**
 * The proxy's dynamic-block engine (src/dynblocks) as the observability
 * providers see it: its active blocks for /jsonstat, /metrics and the
 * dashboard, and block control for the block API, which inserts through
 * the same path as DynBlockRulesGroup (so eligible blocks are mirrored
 * into the kernel maps, and removing one takes its kernel copy out).
 */
import { DNSName, Netmask, parseAddress } from '@dnsdist-ts/dns';
import { BlockScopeGuard } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import { ClientBlockRange, dnsActionText, secondsLeft, type DynamicBlocks, type DynBlock } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';
import type {
  ActiveBlockCounts,
  BlockControl,
  BlockKind,
  BlockRequest,
  DynBlockEngineStats,
  DynBlockEngineStatsProvider,
  DynBlockListProvider,
  DynBlockView,
} from './observability-providers.js';

const ACTIONS: Readonly<Record<string, DNSActionCode>> = {
  Drop: DNSAction.Drop,
  NoOp: DNSAction.NoOp,
  Nxdomain: DNSAction.Nxdomain,
  Refused: DNSAction.Refused,
  Truncate: DNSAction.Truncate,
  NoRecurse: DNSAction.NoRecurse,
};

/** The engine members this source uses. */
export type DynamicBlocksEngine = Pick<
  DynamicBlocks,
  | 'clients'
  | 'suffixes'
  | 'kernel'
  | 'defaultAction'
  | 'activeClientBlocks'
  | 'activeSuffixBlocks'
  | 'activeBlockCounts'
  | 'beforeRead'
  | 'addOrRefreshClientBlock'
  | 'remove'
  | 'addOrRefreshSuffixBlock'
  | 'removeClientBlock'
  | 'removeSuffixBlock'
>;

/** A block request's client range (address → /32 or /128; range → its prefix). */
function clientRange(kind: 'address' | 'range', target: string): ClientBlockRange {
  if (kind === 'address') return ClientBlockRange.of(parseAddress(target).bytes, 0);
  const nm = Netmask.fromString(target);
  const network = nm.network();
  return ClientBlockRange.of(network, 0, network.length === 4 ? nm.bits : 32, network.length === 16 ? nm.bits : 128);
}

function unsupportedName(): never {
  throw new Error('the dynamic-block engine blocks names with their sub-names only: use kind "suffix"');
}

export class DynamicBlocksSource implements DynBlockListProvider, BlockControl, DynBlockEngineStatsProvider {
  readonly #engine: DynamicBlocksEngine;
  readonly #kernelFailures: () => Readonly<Record<string, number>>;
  readonly #activity: () => Omit<DynBlockEngineStats, 'kernelInsertFailures'>;
  readonly #guard: BlockScopeGuard;

  /**
   * @param kernelFailures refused kernel insertions by reason (the eBPF side's failure log).
   * @param activity the engine's insertions, refreshes, expiries and time-to-block, once it counts them.
   * @param guard how wide a block added through the API may be (the application's one guard).
   */
  constructor(
    engine: DynamicBlocksEngine,
    kernelFailures: () => Readonly<Record<string, number>> = () => ({}),
    activity: () => Omit<DynBlockEngineStats, 'kernelInsertFailures'> = () => ({}),
    guard: BlockScopeGuard = new BlockScopeGuard(),
  ) {
    this.#engine = engine;
    this.#kernelFailures = kernelFailures;
    this.#activity = activity;
    this.#guard = guard;
  }

  #view(b: DynBlock, now: number): DynBlockView {
    // The engine folds kernel hits into `blocks`; `kernelHitsSeen` says how many of them there are.
    const kernelHits = b.kernelHitsSeen;
    return {
      kind: b.range ? 'netmask' : 'suffix',
      key: b.keyText(),
      reason: b.reason,
      action: dnsActionText(b.effectiveAction(this.#engine.defaultAction)),
      seconds: secondsLeft(b.until, now),
      blocks: Math.max(0, b.blocks - kernelHits),
      kernelHits,
      warning: b.warning,
      ebpf: b.bpf,
      ...(b.origin !== undefined ? { origin: b.origin } : {}),
    };
  }

  activeBlocks(): DynBlockView[] {
    const now = performance.now();
    const e = this.#engine;
    return [...e.activeClientBlocks(now), ...e.activeSuffixBlocks(now)].map((b) => this.#view(b, now));
  }

  /** Only blocks with hits get a view: with 100,000 idle blocks the sample costs a pass over them, not 100,000 views. */
  activeBlocksWithHits(): DynBlockView[] {
    const now = performance.now();
    const e = this.#engine;
    e.beforeRead?.();
    const out: DynBlockView[] = [];
    // The view's blocks + kernelHits is max(blocks - kernelHitsSeen, 0) + kernelHitsSeen: positive when either is.
    for (const b of e.clients.values()) if (now < b.until && (b.blocks > 0 || b.kernelHitsSeen > 0)) out.push(this.#view(b, now));
    for (const b of e.suffixes.values()) if (now < b.until && (b.blocks > 0 || b.kernelHitsSeen > 0)) out.push(this.#view(b, now));
    return out;
  }

  nmgSize(): number {
    return this.#engine.clients.size;
  }

  /** The engine's running counts: O(1) per scrape, not a visit of every block. */
  activeBlockCounts(): ActiveBlockCounts {
    const c = this.#engine.activeBlockCounts(performance.now());
    return {
      netmaskKernel: c.netmaskKernel,
      netmaskUserspace: c.netmaskUserspace,
      suffixKernel: c.suffixKernel,
      suffixUserspace: c.suffixUserspace,
    };
  }

  /** @throws BlockScopeError for a range or suffix wider than the guard allows. */
  addBlock(r: BlockRequest): DynBlockView {
    const action = ACTIONS[r.action];
    if (action === undefined) throw new Error(`unknown dynamic-block action "${r.action}"`);
    const now = performance.now();
    const spec = { reason: r.reason, action, until: now + r.seconds * 1000, warning: false };
    const opts = { now, seconds: r.seconds, kernelEligible: true, source: 'api' } as const;
    const e = this.#engine;
    let block: DynBlock | undefined;
    if (r.kind === 'name') unsupportedName();
    if (r.kind === 'suffix') {
      const name = DNSName.fromString(r.target).toLowerCase();
      this.#guard.checkSuffix(name, 'the block API');
      e.addOrRefreshSuffixBlock(name, spec, opts);
      block = e.suffixes.get(name);
    } else {
      const range = clientRange(r.kind, r.target);
      this.#guard.checkRange(range, 'the block API');
      e.addOrRefreshClientBlock(range, spec, opts);
      block = e.clients.get(range) ?? e.clients.lookupCovering(range);
    }
    if (!block) throw new Error(`the engine kept no block for ${r.target}`);
    return this.#view(block, now);
  }

  removeBlock(kind: BlockKind, target: string): boolean {
    const e = this.#engine;
    if (kind === 'name') unsupportedName();
    if (kind === 'suffix') return e.removeSuffixBlock(DNSName.fromString(target), 'api') !== undefined;
    return e.removeClientBlock(clientRange(kind, target), 'api') !== undefined;
  }

  engineStats(): DynBlockEngineStats {
    return { ...this.#activity(), kernelInsertFailures: this.#kernelFailures() };
  }
}
