import { buildSpoofedAnswer, type SpoofOptions } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import { RuleArgumentError } from '../rule-errors.js';
import type { QueryAction } from '../rule-types.js';
import { checkSpoofOptions, type SpoofActionOptions } from './spoof-options.js';

/**
 * dnsdist's SpoofRawAction(rdata | {rdata, ...} [, {aa=, ad=, ra=, ttl=}]):
 * answer any query with one record per given RDATA, each of the query's
 * own type and class IN, owned by the query name, shuffled when there are
 * several (as dnsdist does), and stop the rules. The RDATA is the record's wire form ("\192\000\002\001"
 * for an A record of 192.0.2.1), used as it is. Unlike SpoofAction's answers
 * these carry no OPT record, as in dnsdist 1.7.3.
 */
export class SpoofRawAction implements QueryAction {
  readonly #raw: Uint8Array[];
  readonly #options: SpoofOptions;

  /**
   * @param rdata one RDATA or a list, each at most 65535 bytes.
   * @throws RuleArgumentError for an empty list, RDATA over 65535 bytes or a TTL outside 0 to 2^32-1.
   */
  constructor(rdata: Uint8Array | readonly Uint8Array[], options: SpoofActionOptions = {}) {
    const list = rdata instanceof Uint8Array ? [rdata] : [...rdata];
    if (list.length === 0)
      throw new RuleArgumentError('SpoofRawAction.rdata', list, 'SpoofRawAction: give at least one record data string');
    for (const r of list) {
      if (r.length > 0xffff)
        throw new RuleArgumentError(
          'SpoofRawAction.rdata',
          r.length,
          'SpoofRawAction: each record data string must be at most 65535 bytes',
        );
    }
    this.#raw = list.map((r) => Uint8Array.from(r));
    // dnsdist 1.7.3 adds no OPT record to a raw answer, EDNS query or not (checked against it).
    this.#options = { ...checkSpoofOptions('SpoofRawAction', options), addEdns: false };
  }

  apply(dq: DNSQuestion): DNSActionCode {
    dq.replacePacket(buildSpoofedAnswer(dq.view, { raw: this.#raw }, this.#options));
    return DNSAction.HeaderModify;
  }

  toString(): string {
    return 'spoof in raw bytes ';
  }
}
