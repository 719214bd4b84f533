/**
 * The TTL walks the packet cache does over a response, with dnsdist
 * 1.7.3's rules (getDNSPacketMinTTL, ageDNSPacket, editDNSPacketTTL):
 * records of the answer, authority and additional sections are visited in
 * order and the walk stops at the first OPT record; a malformed packet
 * ends the walk where it breaks, keeping what was found or done so far.
 * All three work in place and allocate nothing.
 */

const HEADER_SIZE = 12;
const TYPE_SOA = 6;
const TYPE_OPT = 41;
const CLASS_IN = 1;

/** What scanResponseTtls found; reuse one object per caller. */
export interface ResponseTtlScan {
  /** Lowest TTL among the visited records; -1 when there was none. */
  minTtl: number;
  /** An SOA of class IN was seen in the authority section (a negative answer). */
  soaInAuthority: boolean;
}

/** Offset just past the name at `pos` (a compression pointer ends it), or -1 past `length`. */
function skipName(buf: Uint8Array, length: number, pos: number): number {
  let p = pos;
  for (;;) {
    if (p >= length) return -1;
    const len = buf[p]!;
    if (len === 0) return p + 1;
    if (len >= 0xc0) return p + 2 <= length ? p + 2 : -1;
    p += 1 + len;
  }
}

/** Offset of the first record (after the questions), or -1. */
function skipQuestions(buf: Uint8Array, length: number): number {
  const qdcount = (buf[4]! << 8) | buf[5]!;
  let p = HEADER_SIZE;
  for (let i = 0; i < qdcount; i++) {
    p = skipName(buf, length, p);
    if (p < 0 || p + 4 > length) return -1;
    p += 4;
  }
  return p;
}

function recordCount(buf: Uint8Array): number {
  return ((buf[6]! << 8) | buf[7]!) + ((buf[8]! << 8) | buf[9]!) + ((buf[10]! << 8) | buf[11]!);
}

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

function writeU32(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = (value >>> 16) & 0xff;
  buf[at + 2] = (value >>> 8) & 0xff;
  buf[at + 3] = value & 0xff;
}

/** Rewrites the 4-byte TTL field at `at`; `arg` is the edit's parameter. */
type TtlVisitor = (buf: Uint8Array, at: number, arg: number) => void;

function walkTtls(buf: Uint8Array, length: number, visit: TtlVisitor, arg: number): void {
  if (length < HEADER_SIZE) return;
  let p = skipQuestions(buf, length);
  const records = recordCount(buf);
  for (let n = 0; n < records && p >= 0; n++) {
    p = skipName(buf, length, p);
    if (p < 0 || p + 4 > length) return;
    if (((buf[p]! << 8) | buf[p + 1]!) === TYPE_OPT) return;
    if (p + 8 > length) return;
    visit(buf, p + 4, arg);
    if (p + 10 > length) return;
    const rdLength = (buf[p + 8]! << 8) | buf[p + 9]!;
    p += 10 + rdLength;
    if (p > length) return;
  }
}

const decreaseTtl: TtlVisitor = (buf, at, seconds) => {
  const ttl = readU32(buf, at);
  writeU32(buf, at, ttl > seconds ? ttl - seconds : 0);
};

const replaceTtl: TtlVisitor = (buf, at, ttl) => writeU32(buf, at, ttl);

/**
 * Lowest record TTL of the response in `buf[0..length)` and whether its
 * authority section holds an SOA, into `out`. A record is counted once its
 * type and class could be read, as dnsdist does (an SOA whose TTL is cut
 * off still marks the answer as negative).
 */
export function scanResponseTtls(buf: Uint8Array, length: number, out: ResponseTtlScan): ResponseTtlScan {
  out.minTtl = -1;
  out.soaInAuthority = false;
  if (length < HEADER_SIZE) return out;
  const ancount = (buf[6]! << 8) | buf[7]!;
  const authorityEnd = ancount + ((buf[8]! << 8) | buf[9]!);
  const records = recordCount(buf);
  let p = skipQuestions(buf, length);
  for (let n = 0; n < records && p >= 0; n++) {
    p = skipName(buf, length, p);
    if (p < 0 || p + 4 > length) break;
    const type = (buf[p]! << 8) | buf[p + 1]!;
    if (type === TYPE_OPT) break;
    if (type === TYPE_SOA && ((buf[p + 2]! << 8) | buf[p + 3]!) === CLASS_IN && n >= ancount && n < authorityEnd) {
      out.soaInAuthority = true;
    }
    if (p + 8 > length) break;
    const ttl = readU32(buf, p + 4);
    if (out.minTtl < 0 || ttl < out.minTtl) out.minTtl = ttl;
    if (p + 10 > length) break;
    p += 10 + ((buf[p + 8]! << 8) | buf[p + 9]!);
    if (p > length) break;
  }
  return out;
}

/** Decrease every TTL by `seconds` (not below 0): the age of a cached answer. */
export function ageResponseTtls(buf: Uint8Array, length: number, seconds: number): void {
  if (seconds > 0) walkTtls(buf, length, decreaseTtl, seconds);
}

/** Set every TTL to `ttl`: how a stale entry is served. A `ttl` of 0 leaves them as they are, as in dnsdist. */
export function setResponseTtls(buf: Uint8Array, length: number, ttl: number): void {
  if (ttl > 0) walkTtls(buf, length, replaceTtl, ttl);
}
