import { ednsExtendedRcodeAt, extendedRcodeName, findOptRecord, RCODE_MASK } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/**
 * dnsdist's ERCodeRule(rcode): the 12-bit extended RCODE is `rcode`: the
 * header's 4 bits and the OPT record's upper 8 bits. As in dnsdist, a
 * message without an OPT record never matches, whatever the rcode
 * (RCodeRule is for header-only codes).
 */
export class ERCodeRule implements DNSRule {
  readonly rcode: number;

  /** @throws RuleArgumentError unless 0 <= rcode <= 4095. */
  constructor(rcode: number) {
    this.rcode = checkUint('ERCodeRule.rcode', rcode, 0xfff);
  }

  matches(dq: DNSQuestion): boolean {
    return this.#check(dq.packet, dq.length, dq.view.ednsOffset);
  }

  matchesResponse(dr: DNSResponse): boolean {
    // Cheap header test first: most responses are told apart without walking to the OPT record.
    if ((dr.packet[3]! & RCODE_MASK) !== (this.rcode & RCODE_MASK)) return false;
    return this.#check(dr.packet, dr.length, findOptRecord(dr.packet, dr.length));
  }

  #check(packet: Uint8Array, length: number, opt: number): boolean {
    if ((packet[3]! & RCODE_MASK) !== (this.rcode & RCODE_MASK)) return false;
    return ednsExtendedRcodeAt(packet, length, opt) === this.rcode >>> 4;
  }

  toString(): string {
    return `ercode==${extendedRcodeName(this.rcode)}`;
  }
}
