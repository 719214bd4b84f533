import type { DNSName } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';
import type { ClientBlockRange } from './client-block-range.js';
import type { BlockSource } from './dyn-block-observer.js';
import type { KernelBlock } from './kernel-block-sink.js';

/** Tag set on matching queries by a SetTag block (dnsdist 2.0's tagName/tagValue options). */
export interface DynBlockTag {
  readonly name: string;
  readonly value: string;
}

/** What a new or refreshed block says, before it is merged with the entry it may replace. */
export interface DynBlockSpec {
  readonly reason: string;
  /** DNSAction code; None means "the setDynBlocksAction default, read at query time". */
  readonly action: DNSActionCode;
  /** Monotonic deadline, performance.now() milliseconds. */
  readonly until: number;
  readonly warning: boolean;
  readonly tag?: DynBlockTag | undefined;
  /** The fleet node that made the block, when it came from a fleet peer (setDynBlocksSync). */
  readonly origin?: string | undefined;
}

/**
 * One dynamic block: dnsdist's DynBlock. Either a client range (the
 * address table) or a name suffix (the suffix table). Expired entries stop
 * applying at once but stay until the purge, as in dnsdist.
 *
 * `blocks` counts the queries the block acted on, kernel hits included
 * while the kernel holds a copy (`kernel`).
 */
export class DynBlock {
  readonly range: ClientBlockRange | undefined;
  /** Lower-cased suffix for suffix blocks. */
  readonly domain: DNSName | undefined;
  reason: string;
  action: DNSActionCode;
  until: number;
  blocks = 0;
  warning: boolean;
  tag: DynBlockTag | undefined;
  /** The fleet node that made it, when a fleet peer did; undefined for blocks made here. */
  origin: string | undefined;
  /** Who inserted or last refreshed it (undefined: not said, as in tests and older callers). */
  source: BlockSource | undefined = undefined;
  /** The copy pushed to the kernel sink, while it holds one (dnsdist's `bpf` flag). */
  kernel: KernelBlock | undefined = undefined;
  /** The kernel counter as last read, so only new hits are added to `blocks`. */
  kernelHitsSeen = 0;
  /** Which of the engine's running counts of blocks in force holds it (ActiveBlockCounter); -1 for none. */
  countedAs = -1;

  constructor(key: ClientBlockRange | DNSName, spec: DynBlockSpec) {
    if ('prefix' in key) {
      this.range = key;
      this.domain = undefined;
    } else {
      this.range = undefined;
      this.domain = key;
    }
    this.reason = spec.reason;
    this.action = spec.action;
    this.until = spec.until;
    this.warning = spec.warning;
    this.tag = spec.tag;
    this.origin = spec.origin;
  }

  /** dnsdist's `bpf` flag: the kernel enforces a copy of this block. */
  get bpf(): boolean {
    return this.kernel !== undefined;
  }

  /** The key as dnsdist prints it: "192.0.2.1/32" or "bad.example.". */
  keyText(): string {
    return this.range ? this.range.toString() : this.domain!.toString();
  }

  /** Whether the block applies at `now` (performance.now() ms). */
  isActive(now: number): boolean {
    return now < this.until;
  }

  /** The action taken at query time: the block's own, or `defaultAction` when it says None. */
  effectiveAction(defaultAction: DNSActionCode): DNSActionCode {
    return this.action === DNSAction.None ? defaultAction : this.action;
  }
}
