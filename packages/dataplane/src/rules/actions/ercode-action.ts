import { extendedRcodeName, makeRcodeResponse, RCODE_MASK, type ResponseHeaderOptions } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/**
 * dnsdist's ERCodeAction(rcode [, {aa=, ad=, ra=}]): answer at once with a
 * 12-bit extended RCODE (DNSRCode.BADVERS = 16, BADCOOKIE = 23, …): the low
 * 4 bits go in the header, the upper 8 in the OPT record the rules walk
 * gives the answer (see resetQueryTurnedResponseOpt). A query without EDNS
 * only carries the low 4 bits (0 for BADVERS), as in dnsdist. Header bits
 * as RCodeAction sets them.
 */
export class ERCodeAction implements QueryAction {
  readonly rcode: number;
  readonly #options: ResponseHeaderOptions;

  /** @throws RuleArgumentError unless 0 <= rcode <= 4095. */
  constructor(rcode: number, options: ResponseHeaderOptions = {}) {
    this.rcode = checkUint('ERCodeAction.rcode', rcode, 0xfff);
    this.#options = { ...options };
  }

  apply(dq: DNSQuestion): DNSActionCode {
    makeRcodeResponse(dq.packet, dq.length, this.rcode & RCODE_MASK, this.#options);
    dq.ednsRcode = this.rcode >>> 4;
    return DNSAction.HeaderModify;
  }

  toString(): string {
    return `set ercode ${extendedRcodeName(this.rcode)}`;
  }
}
