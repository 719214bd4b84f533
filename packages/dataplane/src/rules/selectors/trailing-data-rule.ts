import { dnsMessageEnd } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';

/**
 * dnsdist's TrailingDataRule(): the packet goes on after the last record
 * its header counts. A message too short for its own counts does not match.
 */
export class TrailingDataRule implements DNSRule {
  matches(dq: DNSQuestion): boolean {
    return hasTrailingData(dq.packet, dq.length);
  }

  matchesResponse(dr: DNSResponse): boolean {
    return hasTrailingData(dr.packet, dr.length);
  }

  toString(): string {
    return 'trailing data';
  }
}

function hasTrailingData(packet: Uint8Array, length: number): boolean {
  const end = dnsMessageEnd(packet, length);
  return end >= 0 && end < length;
}
