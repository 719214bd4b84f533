/**
 * Stepping over a possibly compressed domain name in a DNS message without
 * decoding it: what record walkers need to find the fixed fields after an
 * owner name.
 */
import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from './dns-name.js';

/**
 * Offset just after the name that starts at `offset`, or -1 when the name
 * is malformed or does not end before `end`. A compression pointer ends the
 * name (its target is not followed, so pointer loops cannot hang this).
 * Label types 0x40 and 0x80 (RFC 6891 extended labels, never deployed) are
 * rejected, as are names over 255 bytes.
 */
export function skipWireName(buf: Uint8Array, offset: number, end: number): number {
  let p = offset;
  while (p < end) {
    const len = buf[p]!;
    if (len === 0) return p + 1;
    if (len > MAX_LABEL_LENGTH) {
      if ((len & 0xc0) !== 0xc0) return -1;
      return p + 2 <= end ? p + 2 : -1;
    }
    p += len + 1;
    // The root byte still has to come, so p - offset + 1 is the shortest this name can be.
    if (p - offset + 1 > MAX_NAME_LENGTH) return -1;
  }
  return -1;
}
