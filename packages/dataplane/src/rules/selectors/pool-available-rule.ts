import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';

/** How many servers of a pool are up (0 for a pool that does not exist). */
export type PoolUpCount = (pool: string) => number;

/** dnsdist's PoolAvailableRule(pool): the pool has at least one server up. */
export class PoolAvailableRule implements DNSRule {
  readonly pool: string;
  readonly #countUp: PoolUpCount;

  constructor(pool: string, countUp: PoolUpCount) {
    this.pool = pool;
    this.#countUp = countUp;
  }

  matches(_dq: DNSQuestion): boolean {
    return this.#countUp(this.pool) > 0;
  }

  matchesResponse(_dr: DNSResponse): boolean {
    return this.#countUp(this.pool) > 0;
  }

  toString(): string {
    return `pool '${this.pool}' is available`;
  }
}
