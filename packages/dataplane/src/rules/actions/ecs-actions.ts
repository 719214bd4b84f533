/**
 * dnsdist's per-query EDNS Client Subnet actions. Each sets a switch on the
 * query and goes on to the next rule; the switches take effect when the
 * query goes to a backend with useClientSubnet (see QueryProcessor).
 */
import type { Netmask } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { ClientSubnet, DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';
import { RuleArgumentError } from '../rule-errors.js';

/** dnsdist's SetDisableECSAction() (DisableECSAction before 1.6): no ECS option for this query. */
export class SetDisableECSAction implements QueryAction {
  apply(dq: DNSQuestion): DNSActionCode {
    dq.useECS = false;
    return DNSAction.None;
  }

  toString(): string {
    return 'disable ECS';
  }
}

/** dnsdist's SetECSOverrideAction(override) (ECSOverrideAction before 1.6): replace, or keep, the client's own ECS option. */
export class SetECSOverrideAction implements QueryAction {
  readonly override: boolean;

  constructor(override: boolean) {
    this.override = override;
  }

  apply(dq: DNSQuestion): DNSActionCode {
    dq.ecsOverride = this.override;
    return DNSAction.None;
  }

  toString(): string {
    return `set ECS override to ${this.override ? 1 : 0}`;
  }
}

function checkPrefixLength(parameter: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RuleArgumentError(parameter, value, `${parameter}: prefix length ${value} is out of range: use 0 to ${max}`);
  }
  return value;
}

/**
 * dnsdist's SetECSPrefixLengthAction(v4, v6) (ECSPrefixLengthAction before
 * 1.6): the prefix length of the client's address sent for this query, by
 * the client's address family.
 */
export class SetECSPrefixLengthAction implements QueryAction {
  readonly v4: number;
  readonly v6: number;

  /** @throws RuleArgumentError for a length over 32 (IPv4) or 128 (IPv6). */
  constructor(v4: number, v6: number) {
    this.v4 = checkPrefixLength('SetECSPrefixLengthAction.v4', v4, 32);
    this.v6 = checkPrefixLength('SetECSPrefixLengthAction.v6', v6, 128);
  }

  apply(dq: DNSQuestion): DNSActionCode {
    dq.ecsPrefixLength = dq.remote.family === 4 ? this.v4 : this.v6;
    return DNSAction.None;
  }

  toString(): string {
    return `set ECS prefix length to ${this.v4}/${this.v6}`;
  }
}

/**
 * dnsdist's SetECSAction(v4 [, v6]): send this subnet as the query's ECS
 * instead of the client's address: `v6` for IPv6 clients when given, `v4`
 * otherwise (for every client, as in dnsdist).
 */
export class SetECSAction implements QueryAction {
  readonly #v4: ClientSubnet;
  readonly #v6: ClientSubnet | undefined;
  readonly #text: string;

  constructor(v4: Netmask, v6?: Netmask) {
    this.#v4 = { address: v4.network(), bits: v4.bits };
    this.#v6 = v6 === undefined ? undefined : { address: v6.network(), bits: v6.bits };
    this.#text = `set ECS to ${v4.toString()}${v6 === undefined ? '' : ` / ${v6.toString()}`}`;
  }

  apply(dq: DNSQuestion): DNSActionCode {
    dq.ecsSubnet = this.#v6 !== undefined && dq.remote.family === 6 ? this.#v6 : this.#v4;
    return DNSAction.None;
  }

  toString(): string {
    return this.#text;
  }
}
