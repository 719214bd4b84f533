import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/** The queries a pool's servers have in flight, all servers counted (0 for a pool that does not exist). */
export type PoolLoad = (pool: string) => number;

/** dnsdist's PoolOutstandingRule(pool, limit): the pool's servers have more than `limit` queries in flight. */
export class PoolOutstandingRule implements DNSRule {
  readonly pool: string;
  readonly limit: number;
  readonly #load: PoolLoad;

  /** @throws RuleArgumentError unless 0 <= limit <= 2^32-1. */
  constructor(pool: string, limit: number, load: PoolLoad) {
    this.pool = pool;
    this.limit = checkUint('PoolOutstandingRule.limit', limit, 0xffffffff);
    this.#load = load;
  }

  matches(_dq: DNSQuestion): boolean {
    return this.#load(this.pool) > this.limit;
  }

  matchesResponse(_dr: DNSResponse): boolean {
    return this.#load(this.pool) > this.limit;
  }

  toString(): string {
    return `pool '${this.pool}' outstanding > ${this.limit}`;
  }
}
