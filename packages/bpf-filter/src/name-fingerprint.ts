/**
 * The name index's fingerprints of lower-cased wire-format names: the wire
 * length and 8-byte little-endian words from the name's first byte (bytes
 * past its end count as zero), mixed by multiply/xor-shift. A qname uses
 * every word it touches; a suffix only its first four (the XDP program
 * fingerprints up to 127 suffixes per query). The program computes the
 * same (qname_fp and suffix_fp in contrib/xdp-filter/bpf/question.h); both must
 * change together (the constants are dnsdist-maps.h's FP_*). Not a
 * security boundary: a collision only costs lookups.
 */
import { FP_K0 as K0, FP_K1 as K1, FP_K2 as K2, FP_WORDS as SUFFIX_WORDS } from './generated/layouts.js';

const MASK64 = (1n << 64n) - 1n;

function fingerprint(name: Uint8Array, words: number): bigint {
  const len = name.byteLength;
  let h = (BigInt(len) * K0) & MASK64;
  for (let w = 0; w < words; w++) {
    let x = 0n;
    for (let b = 7; b >= 0; b--) x = (x << 8n) | BigInt(name[w * 8 + b] ?? 0);
    h = ((h ^ x) * K1) & MASK64;
    h ^= h >> 31n;
  }
  h = (h * K2) & MASK64;
  return h ^ (h >> 32n);
}

/** Fingerprint of a whole blocked name (lower-cased wire format). */
export function qnameFingerprint(name: Uint8Array): bigint {
  return fingerprint(name, Math.ceil(name.byteLength / 8));
}

/** Fingerprint of a blocked suffix (lower-cased wire format). */
export function suffixFingerprint(name: Uint8Array): bigint {
  return fingerprint(name, SUFFIX_WORDS);
}

/** The two slots (of `slots`, a power of two) a fingerprint sets and probes. */
export function fingerprintSlots(fp: bigint, slots: number): [number, number] {
  const mask = BigInt(slots - 1);
  return [Number(fp & mask), Number((fp >> 32n) & mask)];
}
