import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { rateExceeded } from '@dnsdist-ts/dataplane/rings/index.js';
import { dnsActionText } from './dyn-block-action.js';
import type { DynBlockTag } from './dyn-block.js';
import type { StatNode, StatNodeStats } from './stat-node.js';

/** What every rule of a rules group has: why, how long, what to do. */
export interface DynBlockRuleBase {
  /** The reason the blocks it makes carry. */
  readonly reason: string;
  /** How long its blocks last, in seconds. */
  readonly blockSeconds: number;
  /** Window the rule looks at, in seconds; 0 is "the whole ring". */
  readonly seconds: number;
  /** The block's action; None means the setDynBlocksAction default. */
  readonly action: DNSActionCode;
  /** For SetTag blocks: the tag to set. */
  readonly tag?: DynBlockTag | undefined;
}

function actionPrefix(action: DNSActionCode): string {
  return action === DNSAction.None ? 'Apply the global DynBlock action' : dnsActionText(action);
}

/**
 * A rate rule: more than `rate` per second over the last `seconds`
 * (queries, answer bytes, answers with an RCODE, queries of a type),
 * i.e. `count > rate × seconds`, strictly. `warningRate` (0 = none) makes
 * NoOp warning blocks for clients between the two rates.
 */
export class DynBlockRateRule implements DynBlockRuleBase {
  readonly reason: string;
  readonly blockSeconds: number;
  readonly seconds: number;
  readonly action: DNSActionCode;
  readonly tag: DynBlockTag | undefined;
  readonly rate: number;
  readonly warningRate: number;

  constructor(params: DynBlockRuleBase & { rate: number; warningRate: number }) {
    this.reason = params.reason;
    this.blockSeconds = params.blockSeconds;
    this.seconds = params.seconds;
    this.action = params.action;
    this.tag = params.tag;
    this.rate = params.rate;
    this.warningRate = params.warningRate;
  }

  /** Over the blocking rate? `oldest` is the oldest entry the walk counted for this rule (for seconds = 0). */
  exceeded(count: number, oldest: number, now: number): boolean {
    return count > 0 && rateExceeded(count, this.rate, this.seconds, oldest, now);
  }

  /** Over the warning rate (when there is one)? */
  warningExceeded(count: number, oldest: number, now: number): boolean {
    return this.warningRate > 0 && count > 0 && rateExceeded(count, this.warningRate, this.seconds, oldest, now);
  }

  /** dnsdist's text: "Drop for 60 seconds when over 5 during the last 2 seconds, reason: 'why'". */
  toString(): string {
    return `${actionPrefix(this.action)} for ${this.blockSeconds} seconds when over ${this.rate} during the last ${this.seconds} seconds, reason: '${this.reason}'`;
  }
}

/**
 * A ratio rule: answers with an RCODE make up more than `ratio` of the
 * client's answers, counted once it had at least `minimumResponses`.
 */
export class DynBlockRatioRule implements DynBlockRuleBase {
  readonly reason: string;
  readonly blockSeconds: number;
  readonly seconds: number;
  readonly action: DNSActionCode;
  readonly tag: DynBlockTag | undefined;
  readonly ratio: number;
  readonly warningRatio: number;
  readonly minimumResponses: number;

  constructor(params: DynBlockRuleBase & { ratio: number; warningRatio: number; minimumResponses: number }) {
    this.reason = params.reason;
    this.blockSeconds = params.blockSeconds;
    this.seconds = params.seconds;
    this.action = params.action;
    this.tag = params.tag;
    this.ratio = params.ratio;
    this.warningRatio = params.warningRatio;
    this.minimumResponses = params.minimumResponses;
  }

  exceeded(total: number, count: number): boolean {
    return total >= this.minimumResponses && total > 0 && count > this.ratio * total;
  }

  warningExceeded(total: number, count: number): boolean {
    return this.warningRatio > 0 && total >= this.minimumResponses && total > 0 && count > this.warningRatio * total;
  }

  /** dnsdist's text: "Drop for 20 seconds when over 0.200000 ratio during the last 10 seconds, reason: 'why'". */
  toString(): string {
    return `${actionPrefix(this.action)} for ${this.blockSeconds} seconds when over ${this.ratio.toFixed(6)} ratio during the last ${this.seconds} seconds, reason: '${this.reason}'`;
  }
}

/** What a suffix-match visitor decided for one name. */
export interface SuffixVisitorVerdict {
  readonly block: boolean;
  /** Replaces the rule's reason for this name (dnsdist 1.7.0+). */
  readonly reason?: string | undefined;
  /** Replaces the rule's action for this name (dnsdist 1.9.0+). */
  readonly action?: DNSActionCode | undefined;
}

/** Decides, for one node of the name tree, whether to block that name (and its sub-names). */
export type SuffixVisitor = (node: StatNode, self: StatNodeStats, children: StatNodeStats) => SuffixVisitorVerdict;

/**
 * The suffix-match rule: every name of the response ring (and every
 * parent of one) in the window is shown to a visitor, which decides
 * whether to block it.
 */
export class DynBlockSuffixRule implements DynBlockRuleBase {
  readonly reason: string;
  readonly blockSeconds: number;
  readonly seconds: number;
  readonly action: DNSActionCode;
  readonly tag: DynBlockTag | undefined;
  readonly visitor: SuffixVisitor;

  constructor(params: DynBlockRuleBase & { visitor: SuffixVisitor }) {
    this.reason = params.reason;
    this.blockSeconds = params.blockSeconds;
    this.seconds = params.seconds;
    this.action = params.action;
    this.tag = params.tag;
    this.visitor = params.visitor;
  }

  /** dnsdist's text, with its rate always 0: "Drop for 30 seconds when over 0 during the last 10 seconds, reason: 'why'". */
  toString(): string {
    return `${actionPrefix(this.action)} for ${this.blockSeconds} seconds when over 0 during the last ${this.seconds} seconds, reason: '${this.reason}'`;
  }
}
