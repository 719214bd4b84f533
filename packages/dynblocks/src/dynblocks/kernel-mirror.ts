import { ExpiryQueue } from '@dnsdist-ts/bpf-filter';
import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';
import type { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import type { ProxyCounters } from '@dnsdist-ts/dataplane/stats/proxy-counters.js';
import type { DynBlock } from './dyn-block.js';
import type { KernelBlock, KernelBlockAction, KernelBlockSink } from './kernel-block-sink.js';
import { DEFAULT_KERNEL_OPTIONS, type KernelOptions } from './kernel-options.js';

/** What a {@link KernelMirror.foldHits} pass gives the event loop back through (an EventLoopSlicer). */
export interface HitFoldSlicer {
  /** Resolves when the pass may go on (at once, or after letting the event loop run). */
  checkpoint(): Promise<void>;
}

/**
 * How long one slice of a fold pass may hold the event loop (the budget of
 * the EventLoopSlicer the proxy gives it): the pass is background work, and
 * DNS answers must not wait for it more than a couple of milliseconds.
 */
export const HIT_FOLD_SLICE_MS = 2;

/**
 * Counter reads between two checks of the slice's budget: a read is a
 * syscall of a few microseconds when the machine is idle, many more under
 * load, so the check comes every few dozen microseconds.
 */
export const HIT_FOLD_CHECK_EVERY = 16;

/** How much longer than a fold pass the pause before the next one is (a pass takes ~1/10 of the time). */
export const FOLD_PAUSE_FACTOR = 9;

function sameKernelBlock(a: KernelBlock, b: KernelBlock): boolean {
  return a.kind === b.kind && a.action === b.action;
}

/**
 * The kernel copies of dynamic blocks: which blocks the default BPF filter
 * (the sink) should hold, pushing and refreshing them, reading their hit
 * counters, and taking them out when the block ends.
 *
 * Eligibility follows dnsdist (§2.6 of the reference): a block made by a
 * rule group or addDynamicBlock, not a warning, whose effective action is
 * Drop or Truncate, on one address; plus the {@link KernelOptions}
 * extensions (ranges, suffixes, Allow as pass). Unlike dnsdist, copies
 * leave when their block expires (at the next one-second tick), on
 * clearDynBlocks() and when the block turns ineligible, and kernel hits
 * count in `dyn-blocked` and the block's `blocks` as they happen (folded
 * in by a pass of their own, {@link KernelMirror.foldHits}, and whenever a block is
 * shown or leaves).
 */
export class KernelMirror {
  options: KernelOptions = DEFAULT_KERNEL_OPTIONS;
  readonly #counters: ProxyCounters;
  readonly #log: Logger;
  #sink: KernelBlockSink | undefined;
  /** Blocks with a kernel copy, by their block's deadline: the copy leaves when it passes. */
  readonly #backed = new ExpiryQueue<DynBlock>();
  #hitErrorLogged = false;
  #folding = false;
  /** performance.now() before which no new fold pass starts (see foldHitsIfDue). */
  #nextFoldAt = 0;
  /** Told when a block's kernel copy appears or goes (the engine's running counts follow `bpf`). */
  onCopyChange: ((block: DynBlock) => void) | undefined = undefined;

  constructor(counters: ProxyCounters, log: Logger) {
    this.#counters = counters;
    this.#log = log;
  }

  get sink(): KernelBlockSink | undefined {
    return this.#sink;
  }

  /** Blocks the kernel holds a copy of. */
  get backedCount(): number {
    return this.#backed.size;
  }

  /** Use another sink (or none): copies held by the previous one are taken out of it first. */
  setSink(sink: KernelBlockSink | undefined): void {
    if (sink === this.#sink) return;
    this.releaseAll();
    this.#sink = sink;
  }

  /**
   * The kernel copy `block` should have given its effective action, or
   * undefined when it should have none (no sink, a warning, an action or
   * a kind the kernel does not take, or an option switched off).
   */
  desired(block: DynBlock, effective: DNSActionCode): KernelBlock | undefined {
    const sink = this.#sink;
    if (!sink || block.warning) return undefined;
    let action: KernelBlockAction;
    if (effective === DNSAction.Drop) action = 'drop';
    else if (effective === DNSAction.Truncate) action = 'truncate';
    else if (effective === DNSAction.Allow && this.options.allowPass) action = 'pass';
    else return undefined;
    let kb: KernelBlock;
    const range = block.range;
    if (range) {
      if (range.isSingleAddress) kb = { kind: 'address', address: range.network, action, until: block.until };
      else if (this.options.ranges && range.portBits === 0) {
        kb = { kind: 'range', network: range.network, prefix: range.prefix, action, until: block.until };
      } else return undefined;
    } else {
      if (!this.options.suffixes) return undefined;
      kb = { kind: 'suffix', name: block.domain!, action, until: block.until };
    }
    return sink.supports(kb.kind, action) ? kb : undefined;
  }

  /**
   * Bring `block`'s kernel copy in line with what it should be. A block
   * without a copy gets one only when `fresh` (new, expired or replacing
   * a warning), as in dnsdist; an existing copy is refreshed (new
   * deadline), replaced (other action) or taken out (no longer eligible).
   * Returns whether the kernel holds a copy afterwards.
   */
  sync(block: DynBlock, effective: DNSActionCode | undefined, fresh: boolean): boolean {
    const want = effective === undefined ? undefined : this.desired(block, effective);
    const have = block.kernel;
    if (have) {
      if (!want) {
        this.release(block);
        return false;
      }
      if (sameKernelBlock(have, want)) {
        this.#backed.schedule(block, block.until);
        if (have.until !== want.until) {
          // A refresh of an entry the kernel already has: only the deadline (kept by the sink for restarts) moves.
          try {
            if (this.#sink!.insert(want)) block.kernel = want;
          } catch (err) {
            this.#log.debug(`Unable to refresh eBPF dynamic block for ${block.keyText()}: ${(err as Error).message}`);
          }
        }
        return true;
      }
      // Another action (or kind): the new copy replaces the old one at once.
      this.release(block);
      return this.#push(block, want);
    }
    if (!want || !fresh) return false;
    return this.#push(block, want);
  }

  #push(block: DynBlock, kb: KernelBlock): boolean {
    const sink = this.#sink!;
    let ok = false;
    try {
      ok = sink.insert(kb);
    } catch (err) {
      this.#log.debug(
        `Unable to insert eBPF dynamic block for ${block.keyText()}, falling back to regular dynamic block: ${(err as Error).message}`,
      );
      return false;
    }
    if (!ok) {
      this.#log.debug(`Unable to insert eBPF dynamic block for ${block.keyText()}, falling back to regular dynamic block`);
      return false;
    }
    block.kernel = kb;
    block.kernelHitsSeen = this.#readHits(kb) ?? 0;
    this.#backed.schedule(block, block.until);
    this.onCopyChange?.(block);
    return true;
  }

  /** Take the block's copy out of the kernel, counting its last hits first. */
  release(block: DynBlock): void {
    const kb = block.kernel;
    if (!kb) return;
    this.collectHits(block);
    this.#backed.cancel(block);
    block.kernel = undefined;
    block.kernelHitsSeen = 0;
    this.onCopyChange?.(block);
    try {
      this.#sink?.remove(kb);
    } catch (err) {
      this.#log.debug(`Error while removing eBPF dynamic block for ${block.keyText()}: ${(err as Error).message}`);
    }
  }

  /** Take every copy out of the kernel (clearDynBlocks, sink change). */
  releaseAll(): void {
    for (const block of [...this.#backed.keys()]) this.release(block);
  }

  /** Record a block the kernel already holds (adopted from a previous run). */
  adopt(block: DynBlock, kb: KernelBlock): void {
    block.kernel = kb;
    block.kernelHitsSeen = this.#readHits(kb) ?? 0;
    this.#backed.schedule(block, block.until);
    this.onCopyChange?.(block);
  }

  /** Add the kernel hits since the last read to the block's `blocks` and to `dyn-blocked`. */
  collectHits(block: DynBlock): void {
    const kb = block.kernel;
    if (!kb) return;
    const hits = this.#readHits(kb);
    if (hits === undefined) return;
    // A counter below the last read means the entry was re-created: all of it is new.
    const delta = hits >= block.kernelHitsSeen ? hits - block.kernelHitsSeen : hits;
    block.kernelHitsSeen = hits;
    if (delta > 0) {
      block.blocks += delta;
      this.#counters.dynBlocked += delta;
    }
  }

  /**
   * The once-a-second pass: take out the copies whose block has expired
   * (so a kernel entry outlives its block by at most a second, not a
   * purge interval), counting their last hits. Only the expired blocks
   * are visited.
   */
  tick(now: number): void {
    for (const [block] of this.#backed.takeExpired(now)) {
      // The block was extended without a kernel refresh reaching here: keep the copy until the new deadline.
      if (now < block.until) this.#backed.schedule(block, block.until);
      else this.release(block);
    }
  }

  /** Fold the new kernel hits of every block with a copy into it and `dyn-blocked`, in one go. */
  collectAllHits(): void {
    for (const block of this.#backed.keys()) this.collectHits(block);
  }

  /**
   * {@link collectAllHits} in slices: one counter read per block, with
   * the event loop let run whenever `slicer` says so, so 100,000 copies
   * cost DNS no more than a slice. A pass already running makes this a
   * no-op (returns false). Blocks added or released meanwhile are handled
   * by the iteration (a released block has already had its hits counted).
   */
  async foldHits(slicer: HitFoldSlicer): Promise<boolean> {
    if (this.#folding) return false;
    this.#folding = true;
    const started = performance.now();
    try {
      let n = 0;
      for (const block of this.#backed.keys()) {
        this.collectHits(block);
        if (++n % HIT_FOLD_CHECK_EVERY === 0) await slicer.checkpoint();
      }
      return true;
    } finally {
      this.#folding = false;
      const ended = performance.now();
      this.#nextFoldAt = ended + FOLD_PAUSE_FACTOR * (ended - started);
    }
  }

  /**
   * Start a {@link foldHits} pass (and return it) unless one runs or the
   * last one ended too recently: the pause after a pass is
   * {@link FOLD_PAUSE_FACTOR} times its length, so with a few thousand
   * copies hits are read every tick, and with 100,000 (a pass of a few
   * hundred milliseconds) every few seconds, the reads taking about a
   * tenth of the event loop's time.
   */
  foldHitsIfDue(now: number, slicer: HitFoldSlicer): Promise<boolean> | undefined {
    if (this.#folding || now < this.#nextFoldAt) return undefined;
    return this.foldHits(slicer);
  }

  #readHits(kb: KernelBlock): number | undefined {
    try {
      return this.#sink?.hits(kb);
    } catch (err) {
      if (!this.#hitErrorLogged) {
        this.#hitErrorLogged = true;
        this.#log.warn(`Unable to read the kernel hit counter of a dynamic block: ${(err as Error).message}`);
      }
      return undefined;
    }
  }
}
