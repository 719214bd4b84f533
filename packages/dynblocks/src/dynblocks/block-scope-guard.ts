import type { DNSName } from '@dnsdist-ts/dns';
import type { ClientBlockRange } from './client-block-range.js';

/** The Lua setting that changes the limits; named in every refusal. */
export const BLOCK_SCOPE_SETTING = 'setDynBlocksRangeLimits';

/**
 * How wide a block taken from outside the configuration may be: the
 * shortest IPv4 and IPv6 prefixes accepted, and whether the root name
 * (which matches every query) may be blocked.
 */
export interface BlockScopeLimits {
  /** Shortest IPv4 prefix accepted, 0 to 32 (0 lets 0.0.0.0/0 through). */
  readonly v4: number;
  /** Shortest IPv6 prefix accepted, 0 to 128. */
  readonly v6: number;
  /** Whether a suffix block on "." (every name) is accepted. */
  readonly allowRootSuffix: boolean;
}

/** /8 and /32: wide enough for any real abuse range, narrow enough that one call cannot shut every client out. */
export const DEFAULT_BLOCK_SCOPE_LIMITS: BlockScopeLimits = Object.freeze({ v4: 8, v6: 32, allowRootSuffix: false });

/**
 * A block refused because it reaches further than the operator allows.
 * `input` is the offending range or name as text; `setting` the Lua
 * function that would let it through.
 */
export class BlockScopeError extends Error {
  readonly input: string;
  readonly setting = BLOCK_SCOPE_SETTING;
  /** Who asked: "addDynamicBlock", "the block API", … */
  readonly source: string;

  constructor(source: string, input: string, message: string) {
    super(`${source}: ${message}`);
    this.name = new.target.name;
    this.source = source;
    this.input = input;
  }
}

/**
 * The one policy on how far a block may reach when it comes from outside
 * the configuration: the block API, the console's addDynamicBlock and
 * addDynBlockSMT, and any later feed of blocks (a fleet bus). A mistake or
 * a hostile peer there must not be able to block every client (the
 * operator's own address included) or every name with one call.
 *
 * Rules groups are not checked: their masks (setMasks) and suffix rules are
 * the configuration itself, written by the operator.
 */
export class BlockScopeGuard {
  #limits: BlockScopeLimits;

  constructor(limits: BlockScopeLimits = DEFAULT_BLOCK_SCOPE_LIMITS) {
    this.#limits = checkLimits(limits);
  }

  get limits(): BlockScopeLimits {
    return this.#limits;
  }

  /** @throws RangeError for a prefix outside 0–32 / 0–128. */
  set limits(limits: BlockScopeLimits) {
    this.#limits = checkLimits(limits);
  }

  /**
   * Refuse a client range wider than the limit of its family.
   *
   * @param source who asks, for the message ("addDynamicBlock", "the block API").
   * @throws BlockScopeError naming the range, the limit and the setting to change.
   */
  checkRange(range: ClientBlockRange, source: string): void {
    const v4 = range.family === 4;
    const limit = v4 ? this.#limits.v4 : this.#limits.v6;
    if (range.prefix >= limit) return;
    const text = range.toString();
    const everyone = range.prefix === 0 ? ', which is every client (the operator included)' : '';
    throw new BlockScopeError(
      source,
      text,
      `refusing to block ${text}${everyone}: the widest IPv${v4 ? 4 : 6} range accepted here is /${limit}; ` +
        `block a narrower range, or lower the limit with ${BLOCK_SCOPE_SETTING}{${v4 ? 'v4' : 'v6'}=${range.prefix}}`,
    );
  }

  /**
   * Refuse a suffix block on the root name unless allowed.
   *
   * @throws BlockScopeError naming the setting to change.
   */
  checkSuffix(name: DNSName, source: string): void {
    if (!name.isRoot() || this.#limits.allowRootSuffix) return;
    throw new BlockScopeError(
      source,
      '.',
      `refusing to block the suffix ".", which matches every query name; ` +
        `block a narrower name, or allow it with ${BLOCK_SCOPE_SETTING}{allowRootSuffix=true}`,
    );
  }
}

function checkLimits(l: BlockScopeLimits): BlockScopeLimits {
  if (!Number.isInteger(l.v4) || l.v4 < 0 || l.v4 > 32) {
    throw new RangeError(`${BLOCK_SCOPE_SETTING}: v4 must be a prefix length from 0 to 32, got ${String(l.v4)}`);
  }
  if (!Number.isInteger(l.v6) || l.v6 < 0 || l.v6 > 128) {
    throw new RangeError(`${BLOCK_SCOPE_SETTING}: v6 must be a prefix length from 0 to 128, got ${String(l.v6)}`);
  }
  return Object.freeze({ v4: l.v4, v6: l.v6, allowRootSuffix: l.allowRootSuffix });
}
