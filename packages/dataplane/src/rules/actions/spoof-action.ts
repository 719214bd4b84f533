import { buildSpoofedAnswer, formatAddress, parseAddress, QType, type SpoofOptions } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';
import { checkSpoofOptions, withSelfGeneratedEdns, type SpoofActionOptions } from './spoof-options.js';

/**
 * dnsdist's SpoofAction(ip | {ips} [, {aa=, ad=, ra=, ttl=}]): answer A
 * queries with the IPv4 addresses, AAAA queries with the IPv6 ones and ANY
 * queries with all of them (shuffled when there are several), and stop the
 * rules. A query of another type, or of a type no address suits (AAAA when
 * only IPv4 addresses were given), is not answered and goes on to the next
 * rule.
 */
export class SpoofAction implements QueryAction {
  /** Addresses as given, for showRules(). */
  readonly #texts: string[];
  /** The addresses that suit each QTYPE (the answer builder shuffles its own copy). */
  readonly #forA: Uint8Array[];
  readonly #forAAAA: Uint8Array[];
  readonly #forAny: Uint8Array[];
  readonly #options: SpoofOptions;

  /**
   * @param addresses one address or a list, as text ("192.0.2.1", "2001:db8::1") or 4/16 network-order bytes.
   * @throws AddressParseError for text that is not an IPv4 or IPv6 address, or bytes that are not 4 or 16 long.
   * @throws RuleArgumentError for a TTL outside 0 to 2^32-1.
   */
  constructor(addresses: string | Uint8Array | readonly (string | Uint8Array)[], options: SpoofActionOptions = {}) {
    const list = typeof addresses === 'string' || addresses instanceof Uint8Array ? [addresses] : addresses;
    const bytes = list.map((a) => (typeof a === 'string' ? parseAddress(a).bytes : Uint8Array.from(a)));
    this.#texts = bytes.map((b) => formatAddress(b));
    this.#forA = bytes.filter((b) => b.length === 4);
    this.#forAAAA = bytes.filter((b) => b.length === 16);
    this.#forAny = [...bytes];
    this.#options = checkSpoofOptions('SpoofAction', options);
  }

  apply(dq: DNSQuestion): DNSActionCode {
    const addresses = this.#addressesFor(dq.view.qtype);
    if (addresses.length === 0) return DNSAction.None;
    dq.replacePacket(buildSpoofedAnswer(dq.view, { addresses }, withSelfGeneratedEdns(this.#options, dq)));
    return DNSAction.HeaderModify;
  }

  toString(): string {
    // dnsdist prints each address followed by a space.
    let out = 'spoof in ';
    for (const text of this.#texts) out += `${text} `;
    return out;
  }

  #addressesFor(qtype: number): Uint8Array[] {
    if (qtype === QType.A) return this.#forA;
    if (qtype === QType.AAAA) return this.#forAAAA;
    if (qtype === QType.ANY) return this.#forAny;
    return EMPTY;
  }
}

const EMPTY: Uint8Array[] = [];
