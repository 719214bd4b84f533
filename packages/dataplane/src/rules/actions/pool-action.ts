import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';

/** dnsdist's PoolAction(name): send the query to pool `name` ("" is the default pool); stops the rules. */
export class PoolAction implements QueryAction {
  readonly pool: string;

  constructor(pool: string) {
    this.pool = pool;
  }

  apply(dq: DNSQuestion): DNSActionCode {
    dq.pool = this.pool;
    return DNSAction.Pool;
  }

  toString(): string {
    return `to pool ${this.pool}`;
  }
}
