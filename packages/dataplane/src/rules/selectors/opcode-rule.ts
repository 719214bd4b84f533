import { OPCODE_MASK, OPCODE_SHIFT, readFlags } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/** dnsdist's OpcodeRule(opcode): the header's OPCODE is `opcode` (0 = QUERY, 4 = NOTIFY, 5 = UPDATE, …). */
export class OpcodeRule implements DNSRule {
  readonly opcode: number;

  /** @throws RuleArgumentError unless 0 <= opcode <= 15. */
  constructor(opcode: number) {
    this.opcode = checkUint('OpcodeRule.opcode', opcode, 15);
  }

  matches(dq: DNSQuestion): boolean {
    return (readFlags(dq.packet) & OPCODE_MASK) >>> OPCODE_SHIFT === this.opcode;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return (readFlags(dr.packet) & OPCODE_MASK) >>> OPCODE_SHIFT === this.opcode;
  }

  toString(): string {
    return `opcode==${this.opcode}`;
  }
}
