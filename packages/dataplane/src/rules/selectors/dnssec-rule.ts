import { findOptRecord, HeaderFlag, readFlags } from '@dnsdist-ts/dns';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSRule } from '../rule-types.js';

/**
 * dnsdist's DNSSECRule(): the message asks for DNSSEC: CD set in the
 * header, or DO set in its OPT record.
 */
export class DNSSECRule implements DNSRule {
  matches(dq: DNSQuestion): boolean {
    return (readFlags(dq.packet) & HeaderFlag.CD) !== 0 || doBit(dq.packet, dq.length, dq.view.ednsOffset);
  }

  matchesResponse(dr: DNSResponse): boolean {
    return (readFlags(dr.packet) & HeaderFlag.CD) !== 0 || doBit(dr.packet, dr.length, findOptRecord(dr.packet, dr.length));
  }

  toString(): string {
    return 'DNSSEC';
  }
}

/** The DO bit of the OPT record at `opt` (the top bit of the flags word in its TTL field). */
function doBit(packet: Uint8Array, length: number, opt: number): boolean {
  return opt >= 0 && opt + 11 <= length && packet[opt] === 0 && (packet[opt + 7]! & 0x80) !== 0;
}
