import { buildSpoofedAnswer, DNSName, type SpoofOptions } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';
import { checkSpoofOptions, withSelfGeneratedEdns, type SpoofActionOptions } from './spoof-options.js';

/**
 * dnsdist's SpoofCNAMEAction(cname [, {aa=, ad=, ra=, ttl=}]): answer any
 * query, whatever its type, with a single CNAME record to `cname`, and
 * stop the rules.
 */
export class SpoofCNAMEAction implements QueryAction {
  readonly cname: DNSName;
  readonly #options: SpoofOptions;

  /**
   * @throws DnsNameError when `cname` is a string that is not a valid name.
   * @throws RuleArgumentError for a TTL outside 0 to 2^32-1.
   */
  constructor(cname: DNSName | string, options: SpoofActionOptions = {}) {
    this.cname = typeof cname === 'string' ? DNSName.fromString(cname) : cname;
    this.#options = checkSpoofOptions('SpoofCNAMEAction', options);
  }

  apply(dq: DNSQuestion): DNSActionCode {
    dq.replacePacket(buildSpoofedAnswer(dq.view, { cname: this.cname }, withSelfGeneratedEdns(this.#options, dq)));
    return DNSAction.HeaderModify;
  }

  toString(): string {
    return `spoof in ${this.cname.toString()} `;
  }
}
