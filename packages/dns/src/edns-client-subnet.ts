/**
 * EDNS Client Subnet (RFC 7871) on the wire, as dnsdist 1.7 rewrites it:
 * adding the client's subnet to a query on its way to a backend (a new OPT
 * record, a new option in an existing one, or an existing option replaced
 * or kept) and taking back out of the backend's answer what was added, so
 * the client sees its own EDNS. Everything works in place on the caller's
 * buffer and allocates nothing; the caller makes room first (see
 * CLIENT_SUBNET_QUERY_GROWTH).
 */
import { DNS_HEADER_SIZE } from './dns-header.js';
import { QType } from './qtype.js';

/** The EDNS option code of Client Subnet. */
export const EDNS_OPTION_ECS = 8;
/** Largest ECS option: code, length, family, source and scope prefix lengths, 16 address bytes. */
export const MAX_CLIENT_SUBNET_OPTION_SIZE = 24;
/** Owner name, TYPE, CLASS, TTL, RDLENGTH of an OPT record whose owner is the root. */
const OPT_FIXED_SIZE = 11;
/** The most a query grows by when its subnet is set: a new OPT record holding the largest option. */
export const CLIENT_SUBNET_QUERY_GROWTH = OPT_FIXED_SIZE + MAX_CLIENT_SUBNET_OPTION_SIZE;

const MAX_MESSAGE_SIZE = 0xffff;

function u16(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

function put16(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value >>> 8;
  buf[at + 1] = value & 0xff;
}

/**
 * Write the ECS option (code and length included) for `address` (4 or 16
 * bytes) cut to `prefixLength` bits at `out[at]`: family 1 or 2, the source
 * prefix length, scope 0, and only the address bytes the prefix covers,
 * with the bits past it cleared (dnsdist's generateECSOption). The prefix
 * is capped at the family's width. Returns the bytes written (8 to 24).
 */
export function writeClientSubnetOption(out: Uint8Array, at: number, address: Uint8Array, prefixLength: number): number {
  const v4 = address.length === 4;
  const bits = Math.max(0, Math.min(Math.trunc(prefixLength), v4 ? 32 : 128));
  const bytes = (bits + 7) >> 3;
  put16(out, at, EDNS_OPTION_ECS);
  put16(out, at + 2, 4 + bytes);
  put16(out, at + 4, v4 ? 1 : 2);
  out[at + 6] = bits;
  out[at + 7] = 0;
  for (let i = 0; i < bytes; i++) {
    const left = bits - i * 8;
    out[at + 8 + i] = address[i]! & (left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff);
  }
  return 8 + bytes;
}

/** What a rewrite did; one object is reused from call to call. */
export class ClientSubnetEdit {
  /** Length of the message after the call. */
  length = 0;
  /** The query had no OPT record: one was added (the answer's is then removed). */
  ednsAdded = false;
  /** The ECS option is ours, not the client's: it is taken out of the answer. */
  ecsAdded = false;
  /** The answer's first ECS option says scope 0 (valid for every client). */
  zeroScope = false;
}

/**
 * Offset after the name at `p`, or -1. With `strict`, a compression
 * pointer must point before the name's start (dnsdist's name reader throws
 * on a forward reference), which is what turns a garbled answer into a drop.
 */
function skipName(buf: Uint8Array, p: number, end: number, strict: boolean): number {
  const start = p;
  while (p < end) {
    const len = buf[p]!;
    if (len === 0) return p + 1;
    if ((len & 0xc0) === 0xc0) {
      if (p + 2 > end) return -1;
      if (strict && (((len & 0x3f) << 8) | buf[p + 1]!) >= start) return -1;
      return p + 2;
    }
    if (len > 63) return -1;
    p += len + 1;
    if (p - start >= 255) return -1;
  }
  return -1;
}

/** Offset after `n` resource records from `p`, or -1. */
function skipRecords(buf: Uint8Array, p: number, end: number, n: number, strict: boolean): number {
  for (let i = 0; i < n && p >= 0; i++) {
    const q = skipName(buf, p, end, strict);
    if (q < 0 || q + 10 > end) return -1;
    p = q + 10 + u16(buf, q + 8);
    if (p > end) return -1;
  }
  return p;
}

/** Where the walk found the OPT record (scratch, module-wide: the walk is synchronous). */
const found = { opt: -1, index: 0, end: 0 };

/**
 * Walk to the first OPT record of the additional section. Returns false
 * when the message does not walk cleanly up to it (or to its end when it
 * has none). Sets found.opt (-1 without one), found.index (its place among
 * the additional records) and, without one, found.end (the message's end).
 */
function walkToOpt(buf: Uint8Array, end: number, strict: boolean): boolean {
  found.opt = -1;
  let p = DNS_HEADER_SIZE;
  for (let i = u16(buf, 4); i > 0 && p >= 0; i--) {
    p = skipName(buf, p, end, strict);
    p = p < 0 || p + 4 > end ? -1 : p + 4;
  }
  p = p < 0 ? -1 : skipRecords(buf, p, end, u16(buf, 6) + u16(buf, 8), strict);
  const arcount = u16(buf, 10);
  for (let i = 0; i < arcount && p >= 0; i++) {
    const q = skipName(buf, p, end, strict);
    if (q < 0 || q + 10 > end) return false;
    const next = q + 10 + u16(buf, q + 8);
    if (next > end) return false;
    if (buf[p] === 0 && q === p + 1 && u16(buf, q) === QType.OPT) {
      found.opt = p;
      found.index = i;
      return true;
    }
    p = next;
  }
  found.end = p;
  return p >= 0;
}

/** Rewrite a compression pointer at `p` whose target moved by `delta`. */
function shiftPointer(buf: Uint8Array, p: number, boundary: number, delta: number): void {
  const target = ((buf[p]! & 0x3f) << 8) | buf[p + 1]!;
  if (target < boundary) return;
  const moved = target + delta;
  buf[p] = 0xc0 | (moved >>> 8);
  buf[p + 1] = moved & 0xff;
}

/** Shift the pointers of the name at `p`; returns the offset after it or -1. */
function shiftName(buf: Uint8Array, p: number, end: number, boundary: number, delta: number): number {
  while (p < end) {
    const len = buf[p]!;
    if (len === 0) return p + 1;
    if ((len & 0xc0) === 0xc0) {
      if (p + 2 > end) return -1;
      shiftPointer(buf, p, boundary, delta);
      return p + 2;
    }
    if (len > 63) return -1;
    p += len + 1;
  }
  return -1;
}

/**
 * After bytes from `boundary` on moved by `delta`, fix the compression
 * pointers of the `n` records from `p` that point into the moved part:
 * owner names, and the names in the RDATA of the types that compress them.
 */
function shiftRecordPointers(buf: Uint8Array, p: number, end: number, n: number, boundary: number, delta: number): void {
  for (let i = 0; i < n; i++) {
    const q = shiftName(buf, p, end, boundary, delta);
    if (q < 0 || q + 10 > end) return;
    const type = u16(buf, q);
    const rdata = q + 10;
    const next = rdata + u16(buf, q + 8);
    if (next > end) return;
    if (type === QType.NS || type === QType.CNAME || type === QType.PTR) shiftName(buf, rdata, next, boundary, delta);
    else if (type === QType.MX) shiftName(buf, rdata + 2, next, boundary, delta);
    else if (type === QType.SRV) shiftName(buf, rdata + 6, next, boundary, delta);
    else if (type === QType.SOA) {
      const r = shiftName(buf, rdata, next, boundary, delta);
      if (r > 0) shiftName(buf, r, next, boundary, delta);
    }
    p = next;
  }
}

/** Copy `src[0..n)` to `dst[at..)`: a byte loop, since a subarray view per call would be an allocation. */
function copyInto(dst: Uint8Array, at: number, src: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) dst[at + i] = src[i]!;
}

/**
 * Replace `buf[at .. at+removed)` with `insert[0..insertLength)`, moving
 * `buf[at+removed .. end)` along. Returns the new end, or -1 when it would
 * not fit in the buffer or in a DNS message.
 */
function splice(buf: Uint8Array, end: number, at: number, removed: number, insert: Uint8Array | undefined, insertLength: number): number {
  const newEnd = end - removed + insertLength;
  if (newEnd > buf.length || newEnd > MAX_MESSAGE_SIZE) return -1;
  buf.copyWithin(at + insertLength, at + removed, end);
  if (insert) copyInto(buf, at, insert, insertLength);
  return newEnd;
}

/**
 * Set the client subnet of the query in `buf[0..length)` to the ECS option
 * `option[0..optionLength)` (see writeClientSubnetOption), in place, as
 * dnsdist 1.7's handleEDNSClientSubnet does:
 *
 * - no OPT record: one is added at the end of the message (UDP payload
 *   size `payloadSize`, version 0, no flags) holding just the option;
 * - an OPT record without ECS: the option goes after its other options;
 * - an OPT record with ECS: kept as it is unless `override`. Overridden,
 *   when the OPT record is the query's only record, the first ECS option is
 *   rewritten where it stands if the new one has its size, else removed
 *   and the new one put last (checked against dnsdist 1.7.3); with other
 *   records, every ECS option is removed and the new one goes last
 *   (dnsdist's slow path for queries carrying records).
 *
 * Data after the last record is dropped once the message changes. Fills
 * `edit` (length, ednsAdded, ecsAdded) and returns true; false when the
 * query does not walk cleanly or the result would not fit in `buf` (make
 * room for CLIENT_SUBNET_QUERY_GROWTH more bytes first) or in 65,535 bytes.
 */
export function setClientSubnetInQuery(
  buf: Uint8Array,
  length: number,
  option: Uint8Array,
  optionLength: number,
  override: boolean,
  payloadSize: number,
  edit: ClientSubnetEdit,
): boolean {
  edit.ednsAdded = false;
  edit.ecsAdded = false;
  edit.zeroScope = false;
  const end = Math.min(length, buf.length);
  if (end < DNS_HEADER_SIZE || !walkToOpt(buf, end, false)) return false;
  const arcount = u16(buf, 10);
  if (found.opt < 0) {
    const at = found.end;
    const newEnd = at + OPT_FIXED_SIZE + optionLength;
    if (newEnd > buf.length || newEnd > MAX_MESSAGE_SIZE) return false;
    buf[at] = 0;
    put16(buf, at + 1, QType.OPT);
    put16(buf, at + 3, payloadSize);
    put16(buf, at + 5, 0);
    put16(buf, at + 7, 0);
    put16(buf, at + 9, optionLength);
    copyInto(buf, at + OPT_FIXED_SIZE, option, optionLength);
    put16(buf, 10, arcount + 1);
    edit.length = newEnd;
    edit.ednsAdded = true;
    edit.ecsAdded = true;
    return true;
  }

  const opt = found.opt;
  const recordsAfter = arcount - found.index - 1;
  const rdStart = opt + OPT_FIXED_SIZE;
  const rdEnd = rdStart + u16(buf, opt + 9);
  let messageEnd = skipRecords(buf, rdEnd, end, recordsAfter, false);
  if (messageEnd < 0) return false;

  let ecs = -1;
  for (let p = rdStart; p + 4 <= rdEnd;) {
    const next = p + 4 + u16(buf, p + 2);
    if (next > rdEnd) break;
    if (u16(buf, p) === EDNS_OPTION_ECS) {
      ecs = p;
      break;
    }
    p = next;
  }
  if (ecs >= 0 && !override) {
    edit.length = length;
    return true;
  }

  let newRdEnd: number;
  if (ecs < 0) {
    messageEnd = splice(buf, messageEnd, rdEnd, 0, option, optionLength);
    newRdEnd = rdEnd + optionLength;
    edit.ecsAdded = true;
  } else if (u16(buf, 6) === 0 && u16(buf, 8) === 0 && arcount === 1 && 4 + u16(buf, ecs + 2) === optionLength) {
    copyInto(buf, ecs, option, optionLength);
    newRdEnd = rdEnd;
  } else if (u16(buf, 6) === 0 && u16(buf, 8) === 0 && arcount === 1) {
    const oldSize = 4 + u16(buf, ecs + 2);
    messageEnd = splice(buf, messageEnd, ecs, oldSize, undefined, 0);
    if (messageEnd >= 0) messageEnd = splice(buf, messageEnd, rdEnd - oldSize, 0, option, optionLength);
    newRdEnd = rdEnd - oldSize + optionLength;
  } else {
    newRdEnd = rdEnd;
    for (let p = rdStart; p + 4 <= newRdEnd && messageEnd >= 0;) {
      const size = 4 + u16(buf, p + 2);
      if (p + size > newRdEnd) break;
      if (u16(buf, p) !== EDNS_OPTION_ECS) {
        p += size;
        continue;
      }
      messageEnd = splice(buf, messageEnd, p, size, undefined, 0);
      newRdEnd -= size;
    }
    if (messageEnd >= 0) messageEnd = splice(buf, messageEnd, newRdEnd, 0, option, optionLength);
    newRdEnd += optionLength;
  }
  if (messageEnd < 0 || newRdEnd - rdStart > 0xffff) return false;
  put16(buf, opt + 9, newRdEnd - rdStart);
  if (recordsAfter > 0) shiftRecordPointers(buf, newRdEnd, messageEnd, recordsAfter, rdEnd, newRdEnd - rdEnd);
  edit.length = messageEnd;
  return true;
}

/**
 * Take out of the backend's answer in `buf[0..length)`, in place, what
 * setClientSubnetInQuery added to the query (dnsdist 1.7's fixUpResponse):
 * the whole OPT record when `ednsAdded`, else, when `ecsAdded`, the ECS
 * options of the answer's OPT record. Also reads whether the answer's
 * first ECS option has scope 0 (edit.zeroScope).
 *
 * Returns the new length (unchanged when there is nothing to do or no OPT
 * record), or -1 when the answer does not walk cleanly up to its OPT
 * record: dnsdist cannot parse it either and drops it.
 */
export function removeClientSubnetFromAnswer(
  buf: Uint8Array,
  length: number,
  ednsAdded: boolean,
  ecsAdded: boolean,
  edit: ClientSubnetEdit,
): number {
  edit.zeroScope = false;
  const end = Math.min(length, buf.length);
  if (!(ednsAdded || ecsAdded) || end < DNS_HEADER_SIZE) return length;
  const arcount = u16(buf, 10);
  if (arcount === 0) return length;
  if (!walkToOpt(buf, end, true)) return -1;
  const opt = found.opt;
  if (opt < 0) return length;
  const rdStart = opt + OPT_FIXED_SIZE;
  const rdEnd = rdStart + u16(buf, opt + 9);
  const recordsAfter = arcount - found.index - 1;
  const messageEnd = recordsAfter > 0 ? skipRecords(buf, rdEnd, end, recordsAfter, false) : end;
  if (messageEnd < 0) return -1;

  for (let p = rdStart; p + 4 <= rdEnd;) {
    const size = 4 + u16(buf, p + 2);
    if (p + size > rdEnd) break;
    if (u16(buf, p) === EDNS_OPTION_ECS) {
      edit.zeroScope = size >= 8 && buf[p + 7] === 0;
      break;
    }
    p += size;
  }

  let newEnd: number;
  let newRdEnd: number;
  if (ednsAdded) {
    newEnd = splice(buf, messageEnd, opt, rdEnd - opt, undefined, 0);
    put16(buf, 10, arcount - 1);
    newRdEnd = opt;
  } else {
    newEnd = messageEnd;
    newRdEnd = rdEnd;
    for (let p = rdStart; p + 4 <= newRdEnd;) {
      const size = 4 + u16(buf, p + 2);
      if (p + size > newRdEnd) break;
      if (u16(buf, p) !== EDNS_OPTION_ECS) {
        p += size;
        continue;
      }
      newEnd = splice(buf, newEnd, p, size, undefined, 0);
      newRdEnd -= size;
    }
    put16(buf, opt + 9, newRdEnd - rdStart);
  }
  if (recordsAfter > 0 && newRdEnd !== rdEnd) shiftRecordPointers(buf, newRdEnd, newEnd, recordsAfter, rdEnd, newRdEnd - rdEnd);
  // Bytes after the last record (trailing data) go with the answer as they came.
  if (end > messageEnd) {
    buf.copyWithin(newEnd, messageEnd, end);
    newEnd += end - messageEnd;
  }
  return newEnd;
}
