import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkProxyProtocolType } from '../actions/proxy-protocol-actions.js';

/**
 * dnsdist's ProxyProtocolValueRule(type [, value]): the query carries a
 * proxy protocol value of that type (from the client's header or set by a
 * rule), with exactly those bytes when `value` is given.
 */
export class ProxyProtocolValueRule implements DNSRule {
  readonly type: number;
  readonly value: Buffer | undefined;

  /** @throws RuleArgumentError for a type outside 0–255. */
  constructor(type: number, value?: Uint8Array) {
    this.type = checkProxyProtocolType('ProxyProtocolValueRule', type);
    this.value = value === undefined ? undefined : Buffer.from(value);
  }

  matches(dq: DNSQuestion): boolean {
    const values = dq.proxyProtocolValues;
    if (values === undefined) return false;
    for (const v of values) {
      if (v.type !== this.type) continue;
      if (this.value === undefined || this.value.equals(v.value)) return true;
    }
    return false;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.matches(dr.question);
  }

  /** dnsdist 1.7.3's showRules text (the value itself is not shown). */
  toString(): string {
    return `proxy protocol value of type ${this.type} ${this.value === undefined ? 'is present' : 'matches'}`;
  }
}
