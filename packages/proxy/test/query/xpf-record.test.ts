/** The XPF record of newServer{addXPF=code}, byte for byte (draft-bellis-dnsop-xpf, as dnsdist 1.7 writes it). */
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { appendXpfRecord, xpfRecordSize } from '@dnsdist-ts/dataplane/query/xpf-record.js';

// A query for "a." type A with ARCOUNT 0.
const query = Buffer.from('12340100000100000000000001610000010001', 'hex');

function withRoom(extra: number): Buffer {
  const b = Buffer.alloc(query.length + extra);
  query.copy(b);
  return b;
}

describe('appendXpfRecord', () => {
  it('appends root/type/IN/TTL 0, then version 4, UDP, source and destination addresses and ports, and counts it in ARCOUNT', () => {
    const src = new SocketAddress(Uint8Array.of(192, 0, 2, 1), 0x1234);
    const dst = new SocketAddress(Uint8Array.of(127, 0, 0, 1), 53);
    const packet = withRoom(xpfRecordSize(4));
    const length = appendXpfRecord(packet, query.length, 65422, src, dst, false);
    expect(length).toBe(query.length + 25);
    expect(packet.subarray(query.length, length).toString('hex')).toBe(
      '00' + 'ff8e' + '0001' + '00000000' + '000e' + '04' + '11' + 'c0000201' + '7f000001' + '1234' + '0035',
    );
    expect(packet.readUInt16BE(10)).toBe(1);
    expect(packet.subarray(0, 10)).toEqual(query.subarray(0, 10));
  });

  it('says TCP (6) and writes 16-byte addresses for IPv6 clients', () => {
    const v6 = (last: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 0x20 : i === 15 ? last : 0));
    const packet = withRoom(xpfRecordSize(6));
    const length = appendXpfRecord(packet, query.length, 7, new SocketAddress(v6(1), 40000), new SocketAddress(v6(2), 853), true);
    expect(length - query.length).toBe(xpfRecordSize(6));
    const rr = packet.subarray(query.length, length);
    expect(rr.readUInt16BE(1)).toBe(7);
    expect(rr.readUInt16BE(9)).toBe(2 + 32 + 4);
    expect(rr.subarray(11, 13).toString('hex')).toBe('0606');
    expect(rr[13]).toBe(0x20);
    expect(rr[28]).toBe(1);
    expect(rr[44]).toBe(2);
    expect(rr.readUInt16BE(45)).toBe(40000);
    expect(rr.readUInt16BE(47)).toBe(853);
  });

  it('leaves the query untouched when there is no room, ARCOUNT is full or the families differ', () => {
    const src = new SocketAddress(Uint8Array.of(192, 0, 2, 1), 1);
    const dst = new SocketAddress(Uint8Array.of(127, 0, 0, 1), 53);
    const short = withRoom(xpfRecordSize(4) - 1);
    expect(appendXpfRecord(short, query.length, 65422, src, dst, false)).toBe(-1);
    expect(short.readUInt16BE(10)).toBe(0);
    const full = withRoom(xpfRecordSize(4));
    full.writeUInt16BE(0xffff, 10);
    expect(appendXpfRecord(full, query.length, 65422, src, dst, false)).toBe(-1);
    const mixed = withRoom(64);
    expect(appendXpfRecord(mixed, query.length, 65422, src, new SocketAddress(new Uint8Array(16), 53), false)).toBe(-1);
    expect(mixed.readUInt16BE(10)).toBe(0);
  });
});
