import { withEdnsOption } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { QueryAction } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/** The UDP payload size of an OPT record dnsdist adds to a query (its setEDNSUDPPayloadSize… default, 512). */
export const ADDED_OPT_PAYLOAD_SIZE = 512;

/**
 * dnsdist's SetEDNSOptionAction(code, data): the query goes to the backend
 * with EDNS option `code` set to `data` (an option with that code already
 * there is replaced). A query without EDNS gets an OPT record for it, and
 * the OPT record of the backend's answer is then removed before the client
 * sees it, as dnsdist does. Goes on to the next rule. A query that does not
 * walk cleanly is left as it is.
 */
export class SetEDNSOptionAction implements QueryAction {
  readonly code: number;
  readonly #data: Uint8Array;

  /** @throws RuleArgumentError for a code outside 0-65535 or data over 65531 bytes. */
  constructor(code: number, data: Uint8Array | string) {
    this.code = checkUint('SetEDNSOptionAction.code', code, 0xffff);
    this.#data = typeof data === 'string' ? Buffer.from(data, 'utf8') : Uint8Array.from(data);
    checkUint('SetEDNSOptionAction.data length', this.#data.length, 0xffff - 4);
  }

  apply(dq: DNSQuestion): DNSActionCode {
    const rewritten = withEdnsOption(dq.packet, dq.length, this.code, this.#data, ADDED_OPT_PAYLOAD_SIZE);
    if (rewritten) {
      dq.replacePacket(rewritten.packet);
      if (rewritten.added) dq.ednsAdded = true;
    }
    return DNSAction.None;
  }

  toString(): string {
    return `add EDNS Option (code=${this.code})`;
  }
}
