import { cidr4_key, cidr6_key } from './generated/layouts.js';

/**
 * LPM-trie keys for range rules (struct cidr4_key / cidr6_key): u32 prefix
 * length (host order) followed by the network address in network byte
 * order, already masked.
 */
export function cidrKey(addr: Uint8Array, bits: number): Buffer {
  const layout = addr.byteLength === cidr6_key.addr.size ? cidr6_key : cidr4_key;
  const out = Buffer.alloc(layout.sizeof);
  out.writeUInt32LE(bits, layout.prefixlen.offset);
  for (let i = 0; i < addr.byteLength; i++) {
    const left = bits - i * 8;
    const mask = left >= 8 ? 0xff : left <= 0 ? 0 : (0xff << (8 - left)) & 0xff;
    out[layout.addr.offset + i] = addr[i]! & mask;
  }
  return out;
}

export function cidrFromKey(key: Uint8Array): { bits: number; addr: Uint8Array } {
  const bits = Buffer.from(key.buffer, key.byteOffset, key.byteLength).readUInt32LE(cidr4_key.prefixlen.offset);
  return { bits, addr: Uint8Array.from(key.subarray(cidr4_key.addr.offset)) };
}
