import { buildSvcAnswer, svcHints, svcRdata, type SvcHint, type SvcRecordParameters, type SpoofOptions } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import { RuleArgumentError } from '../rule-errors.js';
import type { QueryAction } from '../rule-types.js';
import { checkSpoofOptions, withSelfGeneratedEdns, type SpoofActionOptions } from './spoof-options.js';

/**
 * dnsdist's SpoofSVCAction({newSVCRecordParameters(...), ...} [, {aa=, ad=, ra=, ttl=}]):
 * answer with one SVCB/HTTPS record (of the query's type) per parameter set,
 * and the address hints as A/AAAA records in the additional section (owner:
 * the target, or the query name for a "." target). Stops the rules.
 */
export class SpoofSVCAction implements QueryAction {
  readonly #rdatas: Buffer[];
  readonly #hints4: SvcHint[];
  readonly #hints6: SvcHint[];
  readonly #options: SpoofOptions;

  /** @throws RuleArgumentError for no records or a bad TTL; DnsPacketError for parameters that do not encode. */
  constructor(records: readonly SvcRecordParameters[], options: SpoofActionOptions = {}) {
    if (records.length === 0)
      throw new RuleArgumentError('SpoofSVCAction.records', records, 'SpoofSVCAction: give at least one newSVCRecordParameters(...)');
    this.#rdatas = records.map(svcRdata);
    this.#hints4 = svcHints(records, 4);
    this.#hints6 = svcHints(records, 6);
    this.#options = checkSpoofOptions('SpoofSVCAction', options);
  }

  apply(dq: DNSQuestion): DNSActionCode {
    dq.replacePacket(buildSvcAnswer(dq.view, this.#rdatas, this.#hints4, this.#hints6, withSelfGeneratedEdns(this.#options, dq)));
    return DNSAction.HeaderModify;
  }

  toString(): string {
    return 'spoof SVC record ';
  }
}
