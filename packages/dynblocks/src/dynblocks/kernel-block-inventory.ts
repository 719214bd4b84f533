import type { KernelBlock, KernelBlockSink } from './kernel-block-sink.js';

/**
 * An optional extra a kernel sink may offer: the dynamic blocks a
 * previous run left in the maps that have not expired yet, with `until`
 * already translated to this process's performance.now() clock. When the
 * sink has it, the engine adopts those blocks on setKernelSink (they show
 * in showDynBlocks, count hits and leave on time). Without it, leftovers
 * are the sink's own business (it expires them from its pinned records).
 */
export interface KernelBlockInventory {
  liveBlocks(): readonly KernelBlock[];
}

/** Whether `sink` offers {@link KernelBlockInventory}. */
export function hasKernelInventory(sink: KernelBlockSink): sink is KernelBlockSink & KernelBlockInventory {
  return typeof (sink as Partial<KernelBlockInventory>).liveBlocks === 'function';
}
