import { countRecordsOfType, qtypeName } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';
import { checkSection, sectionCount, sectionName } from './dns-section.js';

/**
 * dnsdist's RecordsTypeCountRule(section, qtype, min, max): from `min` to
 * `max` entries (inclusive) of type `qtype` in `section` of the query (or
 * of the response in a response chain). A message that does not walk
 * cleanly up to that section does not match.
 */
export class RecordsTypeCountRule implements DNSRule {
  readonly section: number;
  readonly qtype: number;
  readonly min: number;
  readonly max: number;

  /** @throws RuleArgumentError for a section outside 0-3, or a type or counts outside 0-65535. */
  constructor(section: number, qtype: number, min: number, max: number) {
    this.section = checkSection('RecordsTypeCountRule.section', section);
    this.qtype = checkUint('RecordsTypeCountRule.qtype', qtype, 0xffff);
    this.min = checkUint('RecordsTypeCountRule.min', min, 0xffff);
    this.max = checkUint('RecordsTypeCountRule.max', max, 0xffff);
  }

  matches(dq: DNSQuestion): boolean {
    return this.#check(dq.packet, dq.length);
  }

  matchesResponse(dr: DNSResponse): boolean {
    return this.#check(dr.packet, dr.length);
  }

  #check(packet: Uint8Array, length: number): boolean {
    // The header's count bounds the answer: skip the walk when it cannot reach min.
    if (sectionCount(packet, this.section) < this.min) return false;
    const n = countRecordsOfType(packet, length, this.section, this.qtype);
    return n >= this.min && n <= this.max;
  }

  toString(): string {
    return `${this.min} <= ${qtypeName(this.qtype)} records in ${sectionName(this.section)} <= ${this.max}`;
  }
}
