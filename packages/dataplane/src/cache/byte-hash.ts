/**
 * Bob Jenkins' lookup2 hash over a byte range, the 32-bit function dnsdist
 * 1.7 builds its packet cache keys with ("burtle" in PowerDNS): the range
 * is consumed as 12-byte blocks of three little-endian words, the last
 * 0-11 bytes are added with the range's length, and each call ends with a
 * final mix. Calls chain through `initval` (the previous call's result),
 * so feeding [a, b) then [b, c) is not the same as feeding [a, c): a key
 * equal to dnsdist's must split the packet where dnsdist does.
 *
 * All arithmetic stays in int32 (`| 0`, `>>>` for the right shifts); the
 * result is unsigned. Allocates nothing.
 */

/** The golden ratio, lookup2's arbitrary starting value for two of the three state words. */
const GOLDEN_RATIO = 0x9e3779b9 | 0;

/** Little-endian 32-bit word at buf[i..i+4). */
function word(buf: Uint8Array, i: number): number {
  return buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
}

/** The `count` (1-3) bytes at buf[i..), little-endian. */
function partial(buf: Uint8Array, i: number, count: number): number {
  let v = buf[i]!;
  if (count > 1) v |= buf[i + 1]! << 8;
  if (count > 2) v |= buf[i + 2]! << 16;
  return v;
}

/**
 * Hash buf[start..end) on top of `initval` (0 to start a chain).
 * Returns an unsigned 32-bit value.
 */
export function burtle(buf: Uint8Array, start: number, end: number, initval: number): number {
  let a = GOLDEN_RATIO;
  let b = GOLDEN_RATIO;
  let c = initval | 0;
  let i = start;
  // lookup2's mix, inlined in both places so that the state stays in locals (no object, no array).
  for (; end - i >= 12; i += 12) {
    a = (a + word(buf, i)) | 0;
    b = (b + word(buf, i + 4)) | 0;
    c = (c + word(buf, i + 8)) | 0;
    a = (a - b - c) ^ (c >>> 13);
    b = (b - c - a) ^ (a << 8);
    c = (c - a - b) ^ (b >>> 13);
    a = (a - b - c) ^ (c >>> 12);
    b = (b - c - a) ^ (a << 16);
    c = (c - a - b) ^ (b >>> 5);
    a = (a - b - c) ^ (c >>> 3);
    b = (b - c - a) ^ (a << 10);
    c = (c - a - b) ^ (b >>> 15);
  }
  // The tail: up to 11 bytes, in a's and b's four bytes and c's upper three (c's low byte took the length).
  c = (c + (end - start)) | 0;
  // Whole words where they fit; the bytes of a partial word shifted into place.
  const rest = end - i;
  if (rest >= 4) {
    a = (a + word(buf, i)) | 0;
    if (rest >= 8) {
      b = (b + word(buf, i + 4)) | 0;
      if (rest > 8) c = (c + (partial(buf, i + 8, rest - 8) << 8)) | 0;
    } else if (rest > 4) {
      b = (b + partial(buf, i + 4, rest - 4)) | 0;
    }
  } else if (rest > 0) {
    a = (a + partial(buf, i, rest)) | 0;
  }
  a = (a - b - c) ^ (c >>> 13);
  b = (b - c - a) ^ (a << 8);
  c = (c - a - b) ^ (b >>> 13);
  a = (a - b - c) ^ (c >>> 12);
  b = (b - c - a) ^ (a << 16);
  c = (c - a - b) ^ (b >>> 5);
  a = (a - b - c) ^ (c >>> 3);
  b = (b - c - a) ^ (a << 10);
  c = (c - a - b) ^ (b >>> 15);
  return c >>> 0;
}

/** Hash one byte (`value & 0xff`) on top of `initval`, as burtle over a 1-byte range would. */
export function burtleByte(value: number, initval: number): number {
  let a = (GOLDEN_RATIO + (value & 0xff)) | 0;
  let b = GOLDEN_RATIO;
  let c = (initval + 1) | 0;
  a = (a - b - c) ^ (c >>> 13);
  b = (b - c - a) ^ (a << 8);
  c = (c - a - b) ^ (b >>> 13);
  a = (a - b - c) ^ (c >>> 12);
  b = (b - c - a) ^ (a << 16);
  c = (c - a - b) ^ (b >>> 5);
  a = (a - b - c) ^ (c >>> 3);
  b = (b - c - a) ^ (a << 10);
  c = (c - a - b) ^ (b >>> 15);
  return c >>> 0;
}
