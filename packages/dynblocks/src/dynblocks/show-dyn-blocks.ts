import { formatPrintf } from '@dnsdist-ts/dataplane/rings/index.js';
import { dnsActionText } from './dyn-block-action.js';
import type { DynBlock } from './dyn-block.js';
import { compareNetmaskTreeOrder, compareSuffixTreeOrder } from './dnsdist-tree-order.js';
import type { DynamicBlocks } from './dynamic-blocks.js';

/** Whole seconds left, as dnsdist computes them (difference of the tv_sec fields). */
export function secondsLeft(until: number, now: number): number {
  return Math.floor(until / 1000) - Math.floor(now / 1000);
}

/**
 * showDynBlocks() text: the active client blocks (NetmaskTree order) then
 * the active suffix blocks (SuffixMatchTree order), with dnsdist 1.7.3's
 * columns `%-24s %8d %8d %-10s %-20s %s`. Blocks counts kernel hits too.
 *
 * When a kernel sink is set, an `eBPF` column (`%-5s`, "*" for blocks the
 * kernel holds) comes before Reason, as in later dnsdist versions; when the
 * node is in a fleet (setDynBlocksSync), an `Origin` column (`%-16s`, the
 * fleet node that made the block, "local" for this node's) comes before
 * Reason too. Without either the text is exactly 1.7.3's.
 */
export function showDynBlocks(blocks: DynamicBlocks, now: number): string {
  const withKernel = blocks.kernel.sink !== undefined;
  const withOrigin = blocks.showOrigin;
  const format = `%-24s %8s %8s %-10s %-20s ${withKernel ? '%-5s ' : ''}${withOrigin ? '%-16s ' : ''}%s`;
  const line = (
    what: string,
    seconds: string | number,
    count: string | number,
    warning: string,
    action: string,
    bpf: string,
    origin: string,
    reason: string,
  ): string =>
    formatPrintf(format, [what, seconds, count, warning, action, ...(withKernel ? [bpf] : []), ...(withOrigin ? [origin] : []), reason]);
  const out = [line('What', 'Seconds', 'Blocks', 'Warning', 'Action', 'eBPF', 'Origin', 'Reason')];
  const row = (b: DynBlock): string => {
    blocks.kernel.collectHits(b);
    return line(
      b.keyText(),
      secondsLeft(b.until, now),
      b.blocks,
      b.warning ? 'true' : 'false',
      dnsActionText(b.effectiveAction(blocks.defaultAction)),
      b.bpf ? '*' : '',
      b.origin ?? 'local',
      b.reason,
    );
  };
  const clients = blocks.activeClientBlocks(now).sort((a, b) => compareNetmaskTreeOrder(a.range!, b.range!));
  const suffixes = blocks.activeSuffixBlocks(now).sort((a, b) => compareSuffixTreeOrder(a.domain!, b.domain!));
  for (const b of clients) out.push(row(b));
  for (const b of suffixes) out.push(row(b));
  return `${out.join('\n')}\n`;
}
