/**
 * Dynamic blocks: the address and suffix block tables, the per-query
 * check run before the rules, dnsdist's DynBlockRulesGroup, and the
 * kernel copies pushed to the default BPF filter.
 */
export { DynamicBlocks, RESTORED_REASON, logName, type BlockInsertOptions } from './dynamic-blocks.js';
export { DynBlock, type DynBlockSpec, type DynBlockTag } from './dyn-block.js';
export type { BlockSource, DynBlockObserver } from './dyn-block-observer.js';
export { chainObservers } from './dyn-block-observer.js';
export { ClientBlockRange, checkBlockMasks } from './client-block-range.js';
export { ClientBlockTable } from './client-block-table.js';
export { SuffixBlockTable } from './suffix-block-table.js';
export { DynBlockQueryCheck, type PassedQueryObserver } from './dyn-block-query-check.js';
export { DynBlockRulesGroup, type ApplyOptions, type ClientCountingRings, type NewBlockInfo } from './dyn-block-rules-group.js';
export {
  DynBlockRateRule,
  DynBlockRatioRule,
  DynBlockSuffixRule,
  type DynBlockRuleBase,
  type SuffixVisitor,
  type SuffixVisitorVerdict,
} from './dyn-block-rule.js';
export { StatNode, splitPresentationLabels, type StatNodeStats } from './stat-node.js';
export { responseStatTree, type ResponseEntries } from './response-stat-tree.js';
export { KernelMirror } from './kernel-mirror.js';
export { ActiveBlockCounter, type ActiveBlockTally } from './active-block-counter.js';
export { DEFAULT_KERNEL_OPTIONS, type KernelOptions } from './kernel-options.js';
export { hasKernelInventory, type KernelBlockInventory } from './kernel-block-inventory.js';
export type { KernelBlock, KernelBlockAction, KernelBlockSink } from './kernel-block-sink.js';
export { FastDetector, DEFAULT_FAST_DETECTION, type FastDetectionOptions } from './fast-detector.js';
export { showDynBlocks, secondsLeft } from './show-dyn-blocks.js';
export {
  dnsActionText,
  DEFAULT_ACTION_CHOICES,
  DEFAULT_ACTION_REFUSED_TEXT,
  isDefaultActionChoice,
  isDnsAction,
} from './dyn-block-action.js';
export { DynBlockArgumentError } from './dyn-block-errors.js';
export {
  BlockScopeGuard,
  BlockScopeError,
  BLOCK_SCOPE_SETTING,
  DEFAULT_BLOCK_SCOPE_LIMITS,
  type BlockScopeLimits,
} from './block-scope-guard.js';
export { compareNetmaskTreeOrder, compareSuffixTreeOrder, compareCanonicalOrder, sortNetmaskTexts } from './dnsdist-tree-order.js';
