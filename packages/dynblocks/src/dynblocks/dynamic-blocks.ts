import { ExpiryQueue } from '@dnsdist-ts/bpf-filter';
import type { DNSName } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';
import type { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import type { ProxyCounters } from '@dnsdist-ts/dataplane/stats/proxy-counters.js';
import { ActiveBlockCounter, type ActiveBlockTally } from './active-block-counter.js';
import { ClientBlockRange } from './client-block-range.js';
import { ClientBlockTable } from './client-block-table.js';
import { DynBlock, type DynBlockSpec } from './dyn-block.js';
import type { BlockSource, DynBlockObserver } from './dyn-block-observer.js';
import { hasKernelInventory } from './kernel-block-inventory.js';
import type { KernelBlock, KernelBlockSink } from './kernel-block-sink.js';
import { KernelMirror } from './kernel-mirror.js';
import { SuffixBlockTable } from './suffix-block-table.js';

/** How a block is being inserted. */
export interface BlockInsertOptions {
  /** performance.now() of the insertion. */
  readonly now: number;
  /** The block's duration, for the log line. */
  readonly seconds: number;
  /** No "Inserting …" log line (a rules group's setQuiet). */
  readonly quiet?: boolean;
  /** Made by a rules group or addDynamicBlock: it may get a kernel copy (dnsdist never mirrors addDynBlocks). */
  readonly kernelEligible: boolean;
  /** The key as the log line shows it, when not the block's own text (addDynBlocks logs bare addresses). */
  readonly logKey?: string;
  /** Who inserts it, for the observer (a fleet bus shares by source and never re-shares what it received). */
  readonly source?: BlockSource;
}

/** Reason given to blocks adopted from a previous run's kernel maps (the maps do not keep reasons). */
export const RESTORED_REASON = 'Restored from the kernel maps';

const KERNEL_TO_DNS_ACTION = { drop: DNSAction.Drop, truncate: DNSAction.Truncate, pass: DNSAction.Allow } as const;

/** A name as dnsdist logs it: no trailing dot, "." for the root. */
export function logName(name: DNSName): string {
  return name.isRoot() ? '.' : name.toStringNoDot();
}

/**
 * The dynamic-block tables and everything that changes them: dnsdist's
 * g_dynblockNMG and g_dynblockSMT with addOrRefreshBlock, the purge of
 * expired entries, clearDynBlocks, the default action, and the kernel
 * copies (see {@link KernelMirror}).
 *
 * Times are milliseconds on the performance.now() clock.
 */
export class DynamicBlocks {
  readonly clients = new ClientBlockTable();
  readonly suffixes = new SuffixBlockTable();
  readonly kernel: KernelMirror;
  /** setDynBlocksAction: what blocks whose action is None do (default Drop). */
  defaultAction: DNSActionCode = DNSAction.Drop;
  /** setDynBlocksPurgeInterval: seconds between purges of expired entries; 0 never purges. */
  purgeIntervalSeconds = 60;
  /** Told of insertions, removals and clears (a fleet bus); undefined when nothing follows the tables. */
  observer: DynBlockObserver | undefined;
  /** showDynBlocks() adds an Origin column (set when the node is in a fleet). */
  showOrigin = false;
  readonly #log: Logger;
  #lastPurge: number;
  /** Every block in the tables by deadline, so the purge takes the expired ones without visiting the rest. */
  readonly #expiry = new ExpiryQueue<DynBlock>();
  /** The blocks in force, counted as they change (a scrape reads them without visiting 100,000 blocks). */
  readonly #active = new ActiveBlockCounter();

  constructor(counters: ProxyCounters, log: Logger, now: number = performance.now()) {
    this.#log = log;
    this.kernel = new KernelMirror(counters, log);
    this.kernel.onCopyChange = (b) => this.#active.refile(b);
    this.#lastPurge = now;
  }

  /**
   * The blocks in force at `now` by table and by kernel copy, equal to a
   * scan of both tables, in O(blocks expired since the last call).
   */
  activeBlockCounts(now: number): ActiveBlockTally {
    return this.#active.counts(now);
  }

  /**
   * Insert or refresh the block for a client range, with dnsdist's rules:
   * a warning never replaces a real block; a real block replaces a
   * warning; otherwise a block never shortens a longer one; a block still
   * active keeps its hit count. Logs "Inserting [(warning) ][eBPF ]dynamic
   * block for … for N seconds: reason" for new, expired and was-warning
   * entries, and for a new entry inside a wider block (see
   * {@link #insideWider}). Returns whether the table changed.
   */
  addOrRefreshClientBlock(range: ClientBlockRange, spec: DynBlockSpec, opts: BlockInsertOptions): boolean {
    const got = this.clients.lookupCovering(range);
    let count = 0;
    let expired = false;
    let wasWarning = false;
    if (got) {
      if (spec.warning && !got.warning) return false;
      if (!spec.warning && got.warning) wasWarning = true;
      else if (spec.until < got.until) return false;
      if (opts.now < got.until) count = got.blocks;
      else expired = true;
    }
    const block = this.#place(got, range.toString(), spec, count, () => {
      const b = new DynBlock(range, spec);
      this.clients.set(b);
      return b;
    });
    const fresh = !got || expired || wasWarning;
    const wider = this.#insideWider(got, block, fresh);
    const kernel = this.kernel.sync(
      block,
      opts.kernelEligible ? block.effectiveAction(this.defaultAction) : undefined,
      fresh || wider !== undefined,
    );
    this.#active.file(block);
    if ((fresh || wider) && !opts.quiet) this.#logInsert(spec, kernel, opts.logKey ?? range.toString(), opts.seconds, wider);
    block.source = opts.source;
    this.observer?.inserted(block, opts.source);
    return true;
  }

  /**
   * The wider block `got` when `block` is a new entry inside it. dnsdist
   * treats that insertion as a refresh: no log line and no kernel copy, so
   * the narrower block lived in userspace only, even after the wider one
   * ended. Here it is new to the kernel too: the XDP filter, like the
   * tables, lets the most specific entry win (exact address, then longest
   * prefix; longest suffix), so writing it at once keeps the kernel's
   * answer equal to the table's for its own action and deadline, and
   * nothing has to be rewritten when the wider block goes.
   */
  #insideWider(got: DynBlock | undefined, block: DynBlock, fresh: boolean): DynBlock | undefined {
    return got !== undefined && got !== block && !fresh ? got : undefined;
  }

  /**
   * Insert or refresh the block for a name suffix: never shortens a
   * longer block on the name or a parent; keeps the count of an active
   * one. Returns whether the table changed.
   */
  addOrRefreshSuffixBlock(name: DNSName, spec: DynBlockSpec, opts: BlockInsertOptions): boolean {
    const lower = name.toLowerCase();
    const got = this.suffixes.lookup(lower);
    let count = 0;
    let expired = false;
    if (got) {
      if (spec.until < got.until) return false;
      if (opts.now < got.until) count = got.blocks;
      else expired = true;
    }
    const block = this.#place(got, lower.toString(), { ...spec, warning: false }, count, () => {
      const b = new DynBlock(lower, { ...spec, warning: false });
      this.suffixes.set(b);
      return b;
    });
    const fresh = !got || expired;
    const wider = this.#insideWider(got, block, fresh);
    const kernel = this.kernel.sync(
      block,
      opts.kernelEligible ? block.effectiveAction(this.defaultAction) : undefined,
      fresh || wider !== undefined,
    );
    this.#active.file(block);
    if ((fresh || wider) && !opts.quiet) this.#logInsert(spec, kernel, opts.logKey ?? logName(lower), opts.seconds, wider);
    block.source = opts.source;
    this.observer?.inserted(block, opts.source);
    return true;
  }

  /** Update `got` in place when it is the entry for `keyText`, otherwise create a new entry. */
  #place(got: DynBlock | undefined, keyText: string, spec: DynBlockSpec, count: number, create: () => DynBlock): DynBlock {
    let block: DynBlock;
    if (got && got.keyText() === keyText) {
      block = got;
      block.reason = spec.reason;
      block.action = spec.action;
      block.until = spec.until;
      block.warning = spec.warning;
      block.tag = spec.tag;
      block.origin = spec.origin;
    } else {
      block = create();
    }
    block.blocks = count;
    this.#expiry.schedule(block, block.until);
    return block;
  }

  #logInsert(spec: DynBlockSpec, kernel: boolean, key: string, seconds: number, wider?: DynBlock): void {
    // dnsdist logs nothing for an entry inside a wider block; ours says which block it sits in.
    const inside = wider ? ` (inside the dynamic block for ${wider.range ? wider.keyText() : logName(wider.domain!)})` : '';
    const from = spec.origin !== undefined ? ` (from fleet node ${spec.origin})` : '';
    this.#log.warn(
      `Inserting ${spec.warning ? '(warning) ' : ''}${kernel ? 'eBPF ' : ''}dynamic block for ${key} for ${seconds} seconds: ${spec.reason}${inside}${from}`,
    );
  }

  /** clearDynBlocks(): empty both tables and take every kernel copy out (dnsdist leaves those behind). */
  clear(source?: BlockSource): void {
    this.kernel.releaseAll();
    this.#active.clear([...this.clients.values(), ...this.suffixes.values()]);
    this.clients.clear();
    this.suffixes.clear();
    this.#expiry.clear();
    this.observer?.cleared(source);
  }

  /**
   * Take out the block on exactly `range` (not a wider one covering it)
   * and its kernel copy, before its end. Returns the block removed.
   */
  removeClientBlock(range: ClientBlockRange, source?: BlockSource): DynBlock | undefined {
    const b = this.clients.get(range);
    if (!b) return undefined;
    this.remove(b);
    this.observer?.removed(b, source);
    return b;
  }

  /** Take out the block on exactly `name` (lower-cased here) and its kernel copy. Returns the block removed. */
  removeSuffixBlock(name: DNSName, source?: BlockSource): DynBlock | undefined {
    const lower = name.toLowerCase();
    const b = this.suffixes.get(lower);
    if (!b) return undefined;
    this.remove(b);
    this.observer?.removed(b, source);
    return b;
  }

  /** Remove one block now, with its kernel copy (the block API's DELETE). */
  remove(block: DynBlock): void {
    this.kernel.release(block);
    if (block.range) this.clients.delete(block.range);
    else this.suffixes.delete(block.domain!);
    this.#expiry.cancel(block);
    this.#active.forget(block);
  }

  /**
   * Remove expired entries (and their kernel copies) from both tables;
   * returns how many went. Costs O(expired): blocks still in force are
   * not visited.
   */
  purgeExpired(now: number): number {
    let removed = 0;
    for (const [b] of this.#expiry.takeExpired(now)) {
      // Replaced in its table since it was scheduled (an insertion after clear, say): not ours to remove.
      const held = b.range ? this.clients.get(b.range) : this.suffixes.get(b.domain!);
      if (held !== b) continue;
      this.kernel.release(b);
      if (b.range) this.clients.delete(b.range);
      else this.suffixes.delete(b.domain!);
      this.#active.forget(b);
      removed++;
    }
    return removed;
  }

  /**
   * The once-a-second housekeeping: kernel copies of expired blocks taken
   * out, and expired entries purged every `purgeIntervalSeconds`
   * (dnsdist's maintenance-thread purge). Both take the expired blocks
   * from deadline queues, so a tick costs O(expired), however many blocks
   * are in force; kernel hits are folded in separately
   * ({@link KernelMirror.foldHits}).
   */
  tick(now: number): void {
    this.kernel.tick(now);
    if (this.purgeIntervalSeconds > 0 && now - this.#lastPurge >= this.purgeIntervalSeconds * 1000) {
      this.#lastPurge = now;
      this.purgeExpired(now);
    }
  }

  /**
   * Mirror eligible blocks into `sink` from now on (setDefaultBPFFilter),
   * or stop mirroring (undefined). Copies in a previous sink are taken
   * out. When the sink lists blocks a previous run left in the kernel
   * (see KernelBlockInventory), they are adopted as blocks of this run.
   */
  setKernelSink(sink: KernelBlockSink | undefined, now: number = performance.now()): void {
    this.kernel.setSink(sink);
    if (!sink || !hasKernelInventory(sink)) return;
    let adopted = 0;
    for (const kb of sink.liveBlocks()) {
      if (!(now < kb.until)) continue;
      if (this.#adopt(kb)) adopted++;
    }
    if (adopted > 0) this.#log.info(`Restored ${adopted} dynamic block${adopted === 1 ? '' : 's'} from the kernel maps`);
  }

  #adopt(kb: KernelBlock): boolean {
    const spec: DynBlockSpec = { reason: RESTORED_REASON, action: KERNEL_TO_DNS_ACTION[kb.action], until: kb.until, warning: false };
    let block: DynBlock;
    if (kb.kind === 'suffix') {
      const name = kb.name.toLowerCase();
      if (this.suffixes.get(name)) return false;
      block = new DynBlock(name, spec);
      this.suffixes.set(block);
      this.#expiry.schedule(block, block.until);
    } else {
      const range =
        kb.kind === 'address'
          ? ClientBlockRange.of(kb.address, 0)
          : ClientBlockRange.of(kb.network, 0, kb.network.length === 4 ? kb.prefix : 32, kb.network.length === 16 ? kb.prefix : 128);
      if (this.clients.get(range)) return false;
      block = new DynBlock(range, spec);
      this.clients.set(block);
      this.#expiry.schedule(block, block.until);
    }
    block.source = 'restored';
    this.kernel.adopt(block, kb);
    this.#active.file(block);
    return true;
  }

  /**
   * Called before the active blocks are listed: with data-plane workers the
   * control plane adds the queries each worker's copy blocked to `blocks`
   * here (workers/worker-dyn-blocks.ts). Undefined costs one test.
   */
  beforeRead: (() => void) | undefined = undefined;

  /** Client blocks still in force at `now`. */
  activeClientBlocks(now: number): DynBlock[] {
    this.beforeRead?.();
    return [...this.clients.values()].filter((b) => now < b.until);
  }

  /** Suffix blocks still in force at `now`. */
  activeSuffixBlocks(now: number): DynBlock[] {
    this.beforeRead?.();
    return [...this.suffixes.values()].filter((b) => now < b.until);
  }
}
