/**
 * Address keys as dnsdist writes them: IPv4 as the numeric address in host
 * byte order (192.0.2.1 -> 01 02 00 c0 on x86-64), IPv6 as the 16 raw
 * network-order bytes.
 */
import { BPFFilterError } from './bpf-filter-error.js';
import { addr4_key, addr6_key } from './generated/layouts.js';

export function ipv4Key(addr: Uint8Array, out: Buffer = Buffer.alloc(addr4_key.sizeof)): Buffer {
  out.writeUInt32LE(((addr[0]! << 24) | (addr[1]! << 16) | (addr[2]! << 8) | addr[3]!) >>> 0, 0);
  return out;
}

export function ipv4FromKey(key: Uint8Array): Uint8Array {
  const n = Buffer.from(key.buffer, key.byteOffset, 4).readUInt32LE(0);
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function ipv6Key(addr: Uint8Array, out: Buffer = Buffer.alloc(addr6_key.sizeof)): Buffer {
  if (addr.byteLength !== addr6_key.sizeof)
    throw new BPFFilterError(`an IPv6 key needs ${addr6_key.sizeof} address bytes, got ${addr.byteLength}`, addr);
  out.set(addr);
  return out;
}
