import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';
import { checkSection, sectionCount, sectionName } from './dns-section.js';

/**
 * dnsdist's RecordsCountRule(section, min, max): the header counts from
 * `min` to `max` entries (inclusive) in `section` (DNSSection.Question,
 * Answer, Authority or Additional) of the query, or of the response in a
 * response chain.
 */
export class RecordsCountRule implements DNSRule {
  readonly section: number;
  readonly min: number;
  readonly max: number;

  /** @throws RuleArgumentError for a section outside 0-3 or counts outside 0-65535. */
  constructor(section: number, min: number, max: number) {
    this.section = checkSection('RecordsCountRule.section', section);
    this.min = checkUint('RecordsCountRule.min', min, 0xffff);
    this.max = checkUint('RecordsCountRule.max', max, 0xffff);
  }

  matches(dq: DNSQuestion): boolean {
    return this.#check(dq.packet);
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.#check(dr.packet);
  }

  #check(packet: Uint8Array): boolean {
    const n = sectionCount(packet, this.section);
    return n >= this.min && n <= this.max;
  }

  toString(): string {
    return `${this.min} <= records in ${sectionName(this.section)} <= ${this.max}`;
  }
}
