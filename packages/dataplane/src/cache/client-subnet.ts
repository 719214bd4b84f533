/**
 * The EDNS Client Subnet (RFC 7871) source of a query, as the packet cache
 * compares it when `parseECS` is set: dnsdist 1.7.3's getClientSubnet
 * looks for the option only in a plain query (one question, a lone OPT
 * record) and keeps the source prefix with the address masked to it.
 *
 * The subnet is written in a fixed canonical form so that two subnets are
 * equal exactly when their bytes are: family (1 or 2), prefix length, then
 * 16 address bytes, masked and zero-padded.
 */

/** Size of the canonical form. */
export const CLIENT_SUBNET_SIZE = 18;

const TYPE_OPT = 41;
const OPTION_ECS = 8;

function u16(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

/** Offset of the ECS option's data (its length is the 2 bytes before), or -1. */
function findEcsOption(buf: Uint8Array, length: number, qnameEnd: number): number {
  if (u16(buf, 4) !== 1 || u16(buf, 6) !== 0 || u16(buf, 8) !== 0 || u16(buf, 10) !== 1) return -1;
  // qtype and qclass, then the OPT record's root name, type and class.
  let pos = qnameEnd + 4;
  if (pos + 5 >= length || buf[pos] !== 0) return -1;
  pos += 1;
  if (u16(buf, pos) !== TYPE_OPT) return -1;
  pos += 4;
  if (length - pos < 6) return -1;
  pos += 4;
  const rdLength = u16(buf, pos);
  pos += 2;
  if (pos + rdLength > length) return -1;
  const rdEnd = pos + rdLength;
  while (pos + 4 <= rdEnd) {
    const code = u16(buf, pos);
    const optionLength = u16(buf, pos + 2);
    pos += 4;
    if (pos + optionLength > rdEnd) return -1;
    if (code === OPTION_ECS) return pos;
    pos += optionLength;
  }
  return -1;
}

/**
 * Read the ECS source subnet of the query in `buf[0..length)` into `out`
 * (at least CLIENT_SUBNET_SIZE bytes) in canonical form. Returns false,
 * leaving `out` zeroed, when the query carries no usable ECS option.
 * Allocates nothing.
 */
export function readClientSubnet(buf: Uint8Array, length: number, qnameEnd: number, out: Uint8Array): boolean {
  out.fill(0, 0, CLIENT_SUBNET_SIZE);
  const start = findEcsOption(buf, length, qnameEnd);
  if (start < 0) return false;
  const optionLength = u16(buf, start - 2);
  if (optionLength < 4) return false;
  const family = u16(buf, start);
  const addressBytes = optionLength - 4;
  const maxBits = family === 1 ? 32 : family === 2 ? 128 : 0;
  if (maxBits === 0 || addressBytes > maxBits / 8) return false;
  const bits = Math.min(buf[start + 2]!, maxBits);
  out[0] = family;
  out[1] = bits;
  for (let i = 0; i < addressBytes; i++) {
    const bitsLeft = bits - i * 8;
    const mask = bitsLeft >= 8 ? 0xff : bitsLeft <= 0 ? 0 : (0xff << (8 - bitsLeft)) & 0xff;
    out[2 + i] = buf[start + 4 + i]! & mask;
  }
  return true;
}

/** Equality of two canonical subnets. */
export function clientSubnetsEqual(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < CLIENT_SUBNET_SIZE; i++) if (a[i] !== b[i]) return false;
  return true;
}
