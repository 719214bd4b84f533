import type { SocketAddress } from './client-address.js';

/** Root owner name (1) + type, class, TTL, RDLENGTH (10). */
const XPF_RECORD_HEADER_SIZE = 11;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const MAX_DNS_MESSAGE_SIZE = 65535;

/** Size of the XPF record made for a client of this address family: header, version, protocol, two addresses, two ports. */
export function xpfRecordSize(family: 4 | 6): number {
  return XPF_RECORD_HEADER_SIZE + 2 + (family === 4 ? 8 : 32) + 4;
}

/**
 * Append an XPF record (draft-bellis-dnsop-xpf, as newServer{addXPF=code}
 * sends it) to the query in `packet[0..length)` and count it in ARCOUNT:
 * owner ".", type `code`, class IN, TTL 0, RDATA = IP version, protocol (6
 * over TCP, 17 over UDP), source and destination addresses, source and
 * destination ports. `packet` must have room for `xpfRecordSize` more bytes.
 * Returns the new length, or -1 when the message would exceed 65535 bytes or
 * ARCOUNT is already at its maximum (the query is then sent without it, as
 * dnsdist does).
 */
export function appendXpfRecord(
  packet: Uint8Array,
  length: number,
  code: number,
  source: SocketAddress,
  destination: SocketAddress,
  overTcp: boolean,
): number {
  const addrLen = source.bytes.length;
  // A client and a listener of different families (IPv4-mapped peers are unmapped) cannot be expressed.
  if (destination.bytes.length !== addrLen) return -1;
  const rdLength = 2 + 2 * addrLen + 4;
  const end = length + XPF_RECORD_HEADER_SIZE + rdLength;
  const arcount = (packet[10]! << 8) | packet[11]!;
  if (end > MAX_DNS_MESSAGE_SIZE || arcount === 0xffff || end > packet.length) return -1;
  let p = length;
  packet[p++] = 0;
  packet[p++] = code >> 8;
  packet[p++] = code & 0xff;
  packet[p++] = 0;
  packet[p++] = 1;
  packet[p++] = 0;
  packet[p++] = 0;
  packet[p++] = 0;
  packet[p++] = 0;
  packet[p++] = rdLength >> 8;
  packet[p++] = rdLength & 0xff;
  packet[p++] = addrLen === 4 ? 4 : 6;
  packet[p++] = overTcp ? IPPROTO_TCP : IPPROTO_UDP;
  packet.set(source.bytes, p);
  p += addrLen;
  packet.set(destination.bytes, p);
  p += addrLen;
  packet[p++] = source.port >> 8;
  packet[p++] = source.port & 0xff;
  packet[p++] = destination.port >> 8;
  packet[p++] = destination.port & 0xff;
  packet[10] = (arcount + 1) >> 8;
  packet[11] = (arcount + 1) & 0xff;
  return end;
}
