/**
 * Keys of the xdp-filter's suffix map: FNV-1a (64-bit) of the lower-cased
 * wire-format suffix, fed from its last byte (the root label) backwards,
 * and the suffix's wire length; 16 bytes (u64 hash, u32 length, u32 zero).
 * The XDP program computes the same hash for every suffix of a query in
 * one backward pass. A 64-bit hash can collide; with the length as part
 * of the key a false match needs two names of equal length colliding.
 */
import { layouts } from '@dnsdist-ts/bpf-filter';

const { FNV64_OFFSET, FNV64_PRIME, suffix_key } = layouts;
const MASK64 = (1n << 64n) - 1n;

export const SUFFIX_KEY_BYTES = suffix_key.sizeof;

/** Hash of a wire-format name (any case; A-Z are folded like the program does). */
export function suffixHash(wire: Uint8Array): bigint {
  let h = FNV64_OFFSET;
  for (let j = wire.byteLength - 1; j >= 0; j--) {
    let b = wire[j]!;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    h = ((h ^ BigInt(b)) * FNV64_PRIME) & MASK64;
  }
  return h;
}

export function suffixKey(wire: Uint8Array): Buffer {
  const k = Buffer.alloc(SUFFIX_KEY_BYTES);
  k.writeBigUInt64LE(suffixHash(wire), suffix_key.hash.offset);
  k.writeUInt32LE(wire.byteLength, suffix_key.len.offset);
  return k;
}
