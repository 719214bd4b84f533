import { ednsVersionAt, findOptRecord } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';
import { checkUint } from '../uint-argument.js';

/**
 * dnsdist's EDNSVersionRule(version): the message has an OPT record whose
 * EDNS version is greater than `version` (so EDNSVersionRule(0) catches
 * what deserves BADVERS). Without EDNS it does not match.
 */
export class EDNSVersionRule implements DNSRule {
  readonly version: number;

  /** @throws RuleArgumentError unless 0 <= version <= 255. */
  constructor(version: number) {
    this.version = checkUint('EDNSVersionRule.version', version, 0xff);
  }

  matches(dq: DNSQuestion): boolean {
    return ednsVersionAt(dq.packet, dq.length, dq.view.ednsOffset) > this.version;
  }

  matchesResponse(dr: DNSResponse): boolean {
    return ednsVersionAt(dr.packet, dr.length, findOptRecord(dr.packet, dr.length)) > this.version;
  }

  toString(): string {
    return `ednsversion>${this.version}`;
  }
}
