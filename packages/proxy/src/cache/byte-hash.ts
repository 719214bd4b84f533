/**
 * A fast non-cryptographic 32-bit hash over byte ranges, for packet cache
 * keys: MurmurHash3 (x86, 32-bit) mixing over 4-byte little-endian words,
 * fed incrementally. Start from HASH_SEED, feed ranges, then finishHash.
 * Each range's last 1-3 bytes are mixed as a short word tagged with their
 * count, so ranges need not be word-aligned. Allocates nothing.
 */

export const HASH_SEED = 0x9747b28c;
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixWord(hash: number, word: number): number {
  let k = Math.imul(word, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  let h = hash ^ k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Feed buf[start..end). */
export function hashBytes(hash: number, buf: Uint8Array, start: number, end: number): number {
  let h = hash;
  let i = start;
  for (const last = end - 3; i < last; i += 4) {
    h = mixWord(h, buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
  }
  const rest = end - i;
  if (rest > 0) {
    let tail = rest << 24;
    if (rest > 2) tail |= buf[i + 2]! << 16;
    if (rest > 1) tail |= buf[i + 1]! << 8;
    h = mixWord(h, tail | buf[i]!);
  }
  return h;
}

/** Feed one small number (a flag, a length) as its own word. */
export function hashValue(hash: number, value: number): number {
  return mixWord(hash, value);
}

/** Final avalanche; returns an unsigned 32-bit key whose low bits depend on every input bit. */
export function finishHash(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
