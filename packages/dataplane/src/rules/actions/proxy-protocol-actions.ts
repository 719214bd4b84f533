/**
 * dnsdist's actions on the type-length-values of the proxy protocol header
 * sent to a useProxyProtocol backend. Both go on to the next rule.
 */
import type { ProxyProtocolValue } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';
import { RuleArgumentError } from '../rule-errors.js';

/** A TLV type is one byte. @throws RuleArgumentError otherwise. */
export function checkProxyProtocolType(parameter: string, type: number): number {
  if (!Number.isInteger(type) || type < 0 || type > 255) {
    throw new RuleArgumentError(parameter, type, `${parameter}: proxy protocol value type ${type} is out of range: use 0 to 255`);
  }
  return type;
}

/** dnsdist's SetProxyProtocolValuesAction({[type]=value, …}): the query's values become these (earlier ones are replaced). */
export class SetProxyProtocolValuesAction implements QueryAction {
  readonly values: readonly ProxyProtocolValue[];

  constructor(values: readonly ProxyProtocolValue[]) {
    for (const v of values) checkProxyProtocolType('SetProxyProtocolValuesAction', v.type);
    this.values = values;
  }

  apply(dq: DNSQuestion): DNSActionCode {
    // Copied: a later SetAdditionalProxyProtocolValueAction appends to the query's own list.
    dq.proxyProtocolValues = this.values.slice();
    return DNSAction.None;
  }

  toString(): string {
    return 'set Proxy-Protocol values';
  }
}

/** dnsdist's SetAdditionalProxyProtocolValueAction(type, value): one more value, after those the query has. */
export class SetAdditionalProxyProtocolValueAction implements QueryAction {
  readonly value: ProxyProtocolValue;

  constructor(type: number, value: Uint8Array) {
    this.value = { type: checkProxyProtocolType('SetAdditionalProxyProtocolValueAction', type), value };
  }

  apply(dq: DNSQuestion): DNSActionCode {
    (dq.proxyProtocolValues ??= []).push(this.value);
    return DNSAction.None;
  }

  toString(): string {
    return `add a Proxy-Protocol value of type ${this.value.type}`;
  }
}
