import { makeRcodeResponse, type ResponseHeaderOptions } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/**
 * dnsdist's RCodeAction(rcode [, {aa=, ad=, ra=}]): answer at once by
 * turning the query into a response with `rcode`, in place: QR=1, the
 * RCODE, AA as given (else as it was), AD as given (else cleared), RA as
 * given (else copied from RD). The question and any other records stay.
 */
export class RCodeAction implements QueryAction {
  readonly rcode: number;
  readonly #options: ResponseHeaderOptions;

  /** @throws RuleArgumentError unless 0 <= rcode <= 15 (extended codes do not fit the header). */
  constructor(rcode: number, options: ResponseHeaderOptions = {}) {
    this.rcode = checkUint('RCodeAction.rcode', rcode, 15);
    this.#options = { ...options };
  }

  apply(dq: DNSQuestion): DNSActionCode {
    makeRcodeResponse(dq.packet, dq.length, this.rcode, this.#options);
    return DNSAction.HeaderModify;
  }

  toString(): string {
    return `set rcode ${this.rcode}`;
  }
}
