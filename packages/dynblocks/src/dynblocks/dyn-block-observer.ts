import type { DynBlock } from './dyn-block.js';

/**
 * Who inserted a block: a rules group, a Lua function (addDynamicBlock,
 * addDynBlocks, addDynBlockSMT, from the configuration, maintenance() or
 * the console), the block API, a fleet peer, the CrowdSec bouncer
 * (setCrowdSecBouncer), or a previous run's kernel maps. A fleet bus uses
 * it to choose what to share and never to share back what it received.
 */
export type BlockSource = 'rules' | 'lua' | 'api' | 'fleet' | 'crowdsec' | 'restored';

/**
 * Told of the changes to the dynamic-block tables that others may want to
 * follow (a fleet bus). Called synchronously from the engine; an observer
 * must not throw and must not change the tables from these calls.
 */
export interface DynBlockObserver {
  /** `block` was inserted or its deadline, action or reason changed. */
  inserted(block: DynBlock, source: BlockSource | undefined): void;
  /** `block` was taken out before its end (block API delete); expiry is not reported. */
  removed(block: DynBlock, source: BlockSource | undefined): void;
  /** Every block was taken out (clearDynBlocks). */
  cleared(source: BlockSource | undefined): void;
}

/** One observer telling `first` then `second` (a fleet bus and a CrowdSec watcher both follow the tables). */
export function chainObservers(first: DynBlockObserver | undefined, second: DynBlockObserver): DynBlockObserver {
  if (!first) return second;
  return {
    inserted: (b, s) => {
      first.inserted(b, s);
      second.inserted(b, s);
    },
    removed: (b, s) => {
      first.removed(b, s);
      second.removed(b, s);
    },
    cleared: (s) => {
      first.cleared(s);
      second.cleared(s);
    },
  };
}
