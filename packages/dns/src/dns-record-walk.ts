/**
 * Walking the sections of a whole DNS message on its wire bytes, without
 * decoding names or allocating: what the record-counting selectors
 * (RecordsTypeCountRule, TrailingDataRule) and the EDNS selectors need.
 * Every function returns -1 (or false) for a message that does not walk
 * cleanly within `length`, and never reads at or past `length`.
 */
import { DNS_HEADER_SIZE } from './dns-header.js';
import { QType } from './qtype.js';
import { skipWireName } from './wire-name-skip.js';

/** dnsdist's DNSSection numbering. */
export const DNSSection = { Question: 0, Answer: 1, Authority: 2, Additional: 3 } as const;

/** Owner name, TYPE, CLASS, TTL, RDLENGTH of an OPT record whose owner is the root. */
const OPT_FIXED_SIZE = 11;

function count(buf: Uint8Array, offset: number): number {
  return (buf[offset]! << 8) | buf[offset + 1]!;
}

function clampEnd(buf: Uint8Array, length: number): number {
  return Math.max(0, Math.min(Math.floor(length), buf.length));
}

/** Offset after the question at `p`, or -1. */
function skipQuestion(buf: Uint8Array, p: number, end: number): number {
  const q = skipWireName(buf, p, end);
  return q < 0 || q + 4 > end ? -1 : q + 4;
}

/** Offset after the resource record at `p`, or -1. */
function skipRecord(buf: Uint8Array, p: number, end: number): number {
  const q = skipWireName(buf, p, end);
  if (q < 0 || q + 10 > end) return -1;
  const next = q + 10 + count(buf, q + 8);
  return next > end ? -1 : next;
}

/**
 * Offset just after the last record the header counts: the length of the
 * DNS message proper, so a packet longer than this carries trailing data.
 * -1 when the message is shorter than its counts say or malformed.
 */
export function dnsMessageEnd(buf: Uint8Array, length: number): number {
  const end = clampEnd(buf, length);
  if (end < DNS_HEADER_SIZE) return -1;
  let p = DNS_HEADER_SIZE;
  for (let i = count(buf, 4); i > 0 && p >= 0; i--) p = skipQuestion(buf, p, end);
  const records = count(buf, 6) + count(buf, 8) + count(buf, 10);
  for (let i = records; i > 0 && p >= 0; i--) p = skipRecord(buf, p, end);
  return p;
}

/**
 * How many entries of `section` (0 question, 1 answer, 2 authority,
 * 3 additional) have TYPE `qtype`. -1 when the message does not walk
 * cleanly up to the end of that section or `section` is not 0-3.
 */
export function countRecordsOfType(buf: Uint8Array, length: number, section: number, qtype: number): number {
  const end = clampEnd(buf, length);
  if (end < DNS_HEADER_SIZE || !(section >= 0 && section <= 3)) return -1;
  let p = DNS_HEADER_SIZE;
  let n = 0;
  for (let i = count(buf, 4); i > 0; i--) {
    const q = skipWireName(buf, p, end);
    if (q < 0 || q + 4 > end) return -1;
    if (section === DNSSection.Question && count(buf, q) === qtype) n++;
    p = q + 4;
  }
  if (section === DNSSection.Question) return n;
  for (let s = DNSSection.Answer; s <= section; s++) {
    for (let i = count(buf, 4 + 2 * s); i > 0; i--) {
      const q = skipWireName(buf, p, end);
      if (q < 0 || q + 10 > end) return -1;
      if (s === section && count(buf, q) === qtype) n++;
      p = q + 10 + count(buf, q + 8);
      if (p > end) return -1;
    }
  }
  return n;
}

/**
 * Offset of the first OPT record of the additional section, when its owner
 * is the root name and the record fits in the message (so its fixed fields
 * are at +1 … +10 and its RDATA at +11). -1 otherwise.
 */
export function findOptRecord(buf: Uint8Array, length: number): number {
  const end = clampEnd(buf, length);
  if (end < DNS_HEADER_SIZE) return -1;
  let p = DNS_HEADER_SIZE;
  for (let i = count(buf, 4); i > 0 && p >= 0; i--) p = skipQuestion(buf, p, end);
  for (let i = count(buf, 6) + count(buf, 8); i > 0 && p >= 0; i--) p = skipRecord(buf, p, end);
  for (let i = count(buf, 10); i > 0 && p >= 0; i--) {
    const owner = p;
    p = skipRecord(buf, p, end);
    if (p >= 0 && buf[owner] === 0 && count(buf, owner + 1) === QType.OPT) return owner;
  }
  return -1;
}

/** Validate an OPT record offset (from findOptRecord or DnsQueryView.ednsOffset): its owner is the root and it fits. */
function optFits(buf: Uint8Array, end: number, opt: number): boolean {
  return opt >= DNS_HEADER_SIZE && buf[opt] === 0 && opt + OPT_FIXED_SIZE <= end && opt + OPT_FIXED_SIZE + count(buf, opt + 9) <= end;
}

/** The EDNS version of the OPT record at `opt` (root owner), or -1 when it does not fit in `length`. */
export function ednsVersionAt(buf: Uint8Array, length: number, opt: number): number {
  return optFits(buf, clampEnd(buf, length), opt) ? buf[opt + 6]! : -1;
}

/** The OPT record's extended-RCODE byte (the upper 8 of the 12 RCODE bits), or -1 when it does not fit. */
export function ednsExtendedRcodeAt(buf: Uint8Array, length: number, opt: number): number {
  return optFits(buf, clampEnd(buf, length), opt) ? buf[opt + 5]! : -1;
}

/**
 * Offset of the first EDNS option with code `code` in the OPT record at
 * `opt` (its 2-byte code, then 2-byte length, then the data), or -1 when
 * there is none or the options do not walk cleanly.
 */
export function findEdnsOption(buf: Uint8Array, length: number, opt: number, code: number): number {
  const end = clampEnd(buf, length);
  if (!optFits(buf, end, opt)) return -1;
  let p = opt + OPT_FIXED_SIZE;
  const rdEnd = p + count(buf, opt + 9);
  while (p + 4 <= rdEnd) {
    const next = p + 4 + count(buf, p + 2);
    if (next > rdEnd) return -1;
    if (count(buf, p) === code) return p;
    p = next;
  }
  return -1;
}

/**
 * Remove the first OPT record (see findOptRecord) from the message in
 * `buf[0..length)`, in place, moving what follows it down and lowering
 * ARCOUNT: what dnsdist does to a backend's answer when it gave the query
 * an OPT record the client had not sent. Returns the new length (`length`
 * when there is no OPT record).
 */
export function removeOptRecord(buf: Uint8Array, length: number): number {
  const end = clampEnd(buf, length);
  const opt = findOptRecord(buf, end);
  if (opt < 0) return length;
  const optEnd = opt + OPT_FIXED_SIZE + count(buf, opt + 9);
  buf.copyWithin(opt, optEnd, end);
  const arcount = count(buf, 10) - 1;
  buf[10] = arcount >>> 8;
  buf[11] = arcount & 0xff;
  return end - (optEnd - opt);
}

/**
 * A copy of the query in `buf[0..length)` with EDNS option `code` set to
 * `data`, as dnsdist's SetEDNSOptionAction makes it: in the query's OPT
 * record, options with that code are removed and the new one is added
 * after the others; a query without an OPT record gets one at the end of
 * its additional section (UDP payload size `payloadSize`, version 0, no
 * flags) holding just that option. `added` tells which happened.
 * Undefined when the message does not walk cleanly or would exceed 65535 bytes.
 */
export function withEdnsOption(
  buf: Uint8Array,
  length: number,
  code: number,
  data: Uint8Array,
  payloadSize: number,
): { packet: Buffer; added: boolean } | undefined {
  const end = clampEnd(buf, length);
  const messageEnd = dnsMessageEnd(buf, end);
  if (messageEnd < 0) return undefined;
  const option = Buffer.alloc(4 + data.length);
  option.writeUInt16BE(code, 0);
  option.writeUInt16BE(data.length, 2);
  option.set(data, 4);
  const opt = findOptRecord(buf, messageEnd);
  let out: Buffer;
  if (opt < 0) {
    out = Buffer.alloc(messageEnd + OPT_FIXED_SIZE + option.length);
    out.set(buf.subarray(0, messageEnd), 0);
    out[messageEnd] = 0;
    out.writeUInt16BE(QType.OPT, messageEnd + 1);
    out.writeUInt16BE(payloadSize, messageEnd + 3);
    out.writeUInt32BE(0, messageEnd + 5);
    out.writeUInt16BE(option.length, messageEnd + 9);
    out.set(option, messageEnd + OPT_FIXED_SIZE);
    out.writeUInt16BE(count(buf, 10) + 1, 10);
    return out.length > 0xffff ? undefined : { packet: out, added: true };
  }
  // Keep the other options, in order, then the new one.
  const rdStart = opt + OPT_FIXED_SIZE;
  const rdEnd = rdStart + count(buf, opt + 9);
  const kept: Uint8Array[] = [];
  let keptLength = 0;
  for (let p = rdStart; p + 4 <= rdEnd;) {
    const next = p + 4 + count(buf, p + 2);
    if (next > rdEnd) return undefined;
    if (count(buf, p) !== code) {
      kept.push(buf.subarray(p, next));
      keptLength += next - p;
    }
    p = next;
  }
  const rdlength = keptLength + option.length;
  if (rdlength > 0xffff) return undefined;
  out = Buffer.alloc(messageEnd - (rdEnd - rdStart) + rdlength);
  out.set(buf.subarray(0, rdStart), 0);
  out.writeUInt16BE(rdlength, opt + 9);
  let at = rdStart;
  for (const k of kept) {
    out.set(k, at);
    at += k.length;
  }
  out.set(option, at);
  at += option.length;
  out.set(buf.subarray(rdEnd, messageEnd), at);
  return out.length > 0xffff ? undefined : { packet: out, added: false };
}
