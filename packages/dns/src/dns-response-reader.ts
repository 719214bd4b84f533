/**
 * Reading backend responses without decoding them: the header and TTL
 * facts the packet cache, the response rings and health checks need, TTL
 * aging for cached answers, and checking that a response answers the
 * question that was asked.
 */
import { DNS_HEADER_SIZE, RCODE_MASK, Rcode } from './dns-header.js';
import type { DnsQueryView } from './dns-query-view.js';
import { QType } from './qtype.js';
import { skipWireName } from './wire-name-skip.js';

/** What `readResponseSummary` found in a response. */
export interface ResponseSummary {
  /** True when the header and every record in all sections were inside the packet. */
  valid: boolean;
  id: number;
  flags: number;
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
  /** Offset just after the question section; 0 when it did not walk. */
  questionEnd: number;
  /**
   * Lowest TTL over the answer and authority records (OPT excluded). For a
   * negative answer (NXDOMAIN, or NOERROR with no answers) an authority
   * SOA counts with the lower of its TTL and its MINIMUM field (RFC 2308).
   * -1 when there are no such records or the packet is not valid.
   */
  minTtl: number;
  /** True when the authority section holds an SOA record of class IN. */
  hasSoaInAuthority: boolean;
}

const CLASS_IN = 1;
/** TYPE, CLASS, TTL, RDLENGTH after a record's owner name. */
const RECORD_FIXED_SIZE = 10;
/** Smallest SOA data: two root names and five 32-bit fields. */
const MIN_SOA_RDATA = 22;

/** A summary to pass to `readResponseSummary` again and again. */
export function createResponseSummary(): ResponseSummary {
  return {
    valid: false,
    id: 0,
    flags: 0,
    rcode: 0,
    qdcount: 0,
    ancount: 0,
    nscount: 0,
    arcount: 0,
    questionEnd: 0,
    minTtl: -1,
    hasSoaInAuthority: false,
  };
}

function read32(buf: Uint8Array, at: number): number {
  return buf[at]! * 0x1000000 + ((buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!);
}

/** Offset after the question section that starts at 12, or -1. */
function skipQuestions(buf: Uint8Array, end: number, qdcount: number): number {
  let p = DNS_HEADER_SIZE;
  for (let i = 0; i < qdcount; i++) {
    p = skipWireName(buf, p, end);
    if (p < 0 || p + 4 > end) return -1;
    p += 4;
  }
  return p;
}

/**
 * Summarise the response in `buf[0..length)`: header fields, then a walk
 * over every record with bounds checks. Bytes after the last record are
 * allowed. Never throws. Fills and returns `out` when given, so a reused
 * summary makes this allocation-free.
 */
export function readResponseSummary(buf: Uint8Array, length: number, out: ResponseSummary = createResponseSummary()): ResponseSummary {
  const end = length >= 0 ? Math.min(Math.floor(length), buf.length) : 0;
  out.valid = false;
  out.questionEnd = 0;
  out.minTtl = -1;
  out.hasSoaInAuthority = false;
  if (end < DNS_HEADER_SIZE) {
    out.id = out.flags = out.rcode = out.qdcount = out.ancount = out.nscount = out.arcount = 0;
    return out;
  }
  out.id = (buf[0]! << 8) | buf[1]!;
  out.flags = (buf[2]! << 8) | buf[3]!;
  out.rcode = out.flags & RCODE_MASK;
  out.qdcount = (buf[4]! << 8) | buf[5]!;
  out.ancount = (buf[6]! << 8) | buf[7]!;
  out.nscount = (buf[8]! << 8) | buf[9]!;
  out.arcount = (buf[10]! << 8) | buf[11]!;

  let p = skipQuestions(buf, end, out.qdcount);
  if (p < 0) return out;
  const questionEnd = p;
  const negative = out.rcode === Rcode.NXDomain || (out.rcode === Rcode.NoError && out.ancount === 0);
  const answerAndAuthority = out.ancount + out.nscount;
  const total = answerAndAuthority + out.arcount;
  let minTtl = -1;
  let hasSoa = false;
  for (let i = 0; i < total; i++) {
    p = skipWireName(buf, p, end);
    if (p < 0 || p + RECORD_FIXED_SIZE > end) return out;
    const rdlength = (buf[p + 8]! << 8) | buf[p + 9]!;
    const rdataEnd = p + RECORD_FIXED_SIZE + rdlength;
    if (rdataEnd > end) return out;
    if (i < answerAndAuthority) {
      const type = (buf[p]! << 8) | buf[p + 1]!;
      if (type !== QType.OPT) {
        let ttl = read32(buf, p + 4);
        if (type === QType.SOA && i >= out.ancount) {
          if (((buf[p + 2]! << 8) | buf[p + 3]!) === CLASS_IN) hasSoa = true;
          if (negative && rdlength >= MIN_SOA_RDATA) {
            const minimum = read32(buf, rdataEnd - 4);
            if (minimum < ttl) ttl = minimum;
          }
        }
        if (minTtl < 0 || ttl < minTtl) minTtl = ttl;
      }
    }
    p = rdataEnd;
  }
  out.valid = true;
  out.questionEnd = questionEnd;
  out.minTtl = minTtl;
  out.hasSoaInAuthority = hasSoa;
  return out;
}

/**
 * Walk every record; when `seconds` > 0 also lower their TTLs. Returns
 * false if a record did not fit in the packet.
 */
function walkAndAge(buf: Uint8Array, end: number, seconds: number): boolean {
  const ancount = (buf[6]! << 8) | buf[7]!;
  const nscount = (buf[8]! << 8) | buf[9]!;
  const arcount = (buf[10]! << 8) | buf[11]!;
  let p = skipQuestions(buf, end, (buf[4]! << 8) | buf[5]!);
  if (p < 0) return false;
  const total = ancount + nscount + arcount;
  for (let i = 0; i < total; i++) {
    p = skipWireName(buf, p, end);
    if (p < 0 || p + RECORD_FIXED_SIZE > end) return false;
    const rdataEnd = p + RECORD_FIXED_SIZE + ((buf[p + 8]! << 8) | buf[p + 9]!);
    if (rdataEnd > end) return false;
    // An OPT record's TTL field holds flags, not a TTL.
    if (seconds > 0 && ((buf[p]! << 8) | buf[p + 1]!) !== QType.OPT) {
      const ttl = read32(buf, p + 4);
      const aged = ttl > seconds ? ttl - seconds : 0;
      buf[p + 4] = aged >>> 24;
      buf[p + 5] = (aged >>> 16) & 0xff;
      buf[p + 6] = (aged >>> 8) & 0xff;
      buf[p + 7] = aged & 0xff;
    }
    p = rdataEnd;
  }
  return true;
}

/**
 * Age a cached response in place: subtract `seconds` from the TTL of every
 * record in the answer, authority and additional sections except OPT,
 * stopping at 0, as dnsdist's packet cache does before serving a hit.
 * The packet is checked first, so it is either fully aged or untouched.
 * Returns false (and changes nothing) when it could not be walked.
 */
export function decreaseTtls(buf: Uint8Array, length: number, seconds: number): boolean {
  const end = length >= 0 ? Math.min(Math.floor(length), buf.length) : 0;
  if (end < DNS_HEADER_SIZE) return false;
  if (!walkAndAge(buf, end, 0)) return false;
  const s = Math.floor(seconds);
  if (s > 0) walkAndAge(buf, end, s);
  return true;
}

/**
 * Whether the response in `response[0..length)` asks the same question as
 * `query`: first question name equal ignoring ASCII case (written out, not
 * compressed), same QTYPE and QCLASS. False when the query is not valid or
 * the response has no question; dnsdist accepts some question-less error
 * responses, which is for the caller to decide.
 */
export function questionMatches(response: Uint8Array, length: number, query: DnsQueryView): boolean {
  if (!query.valid) return false;
  const end = length >= 0 ? Math.min(Math.floor(length), response.length) : 0;
  const wireLength = query.qnameWireLength;
  if (end < DNS_HEADER_SIZE + wireLength + 4) return false;
  if (((response[4]! << 8) | response[5]!) === 0) return false;
  const lower = query.qnameLower;
  // Length bytes are at most 63, below 'A', so folding every byte leaves them alone.
  for (let i = 0; i < wireLength; i++) {
    const c = response[DNS_HEADER_SIZE + i]!;
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower[i]) return false;
  }
  const p = DNS_HEADER_SIZE + wireLength;
  return ((response[p]! << 8) | response[p + 1]!) === query.qtype && ((response[p + 2]! << 8) | response[p + 3]!) === query.qclass;
}
