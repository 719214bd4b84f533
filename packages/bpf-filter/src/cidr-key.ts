/**
 * LPM-trie keys for range rules: u32 prefix length (host order) followed
 * by the network address in network byte order, already masked.
 */
export function cidrKey(addr: Uint8Array, bits: number): Buffer {
  const out = Buffer.alloc(4 + addr.byteLength);
  out.writeUInt32LE(bits, 0);
  for (let i = 0; i < addr.byteLength; i++) {
    const left = bits - i * 8;
    const mask = left >= 8 ? 0xff : left <= 0 ? 0 : (0xff << (8 - left)) & 0xff;
    out[4 + i] = addr[i]! & mask;
  }
  return out;
}

export function cidrFromKey(key: Uint8Array): { bits: number; addr: Uint8Array } {
  const bits = Buffer.from(key.buffer, key.byteOffset, 4).readUInt32LE(0);
  return { bits, addr: Uint8Array.from(key.subarray(4)) };
}
