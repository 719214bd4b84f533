import {
  makeLocalProxyProtocolHeader,
  makeProxyProtocolHeader,
  parseProxyProtocolHeader,
  ProxyProtocolEncodeError,
  ProxyProtocolParse,
  type ProxyProtocolHeader,
} from '../src/index.js';

/** The version 2 signature from HAProxy's proxy-protocol.txt, section 2.2. */
const SIG = '0d0a0d0a000d0a515549540a';
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('proxy protocol v2 header', () => {
  it('writes a TCP over IPv4 PROXY header as the spec lays it out', () => {
    // 192.0.2.1:56324 -> 198.51.100.7:53: \x21 (v2, PROXY), \x11 (AF_INET, STREAM), length 12, addresses, ports.
    const h = makeProxyProtocolHeader(true, Uint8Array.from([192, 0, 2, 1]), 56324, Uint8Array.from([198, 51, 100, 7]), 53);
    expect(h.toString('hex')).toBe(`${SIG}2111000cc0000201c6336407dc040035`);
  });

  it('writes UDP over IPv6 (family byte \\x22) with TLVs in the order given', () => {
    const src = new Uint8Array(16);
    src[0] = 0x20;
    src[1] = 0x01;
    src[15] = 1;
    const dst = new Uint8Array(16);
    dst[15] = 1;
    const h = makeProxyProtocolHeader(false, src, 1234, dst, 5353, [
      { type: 0, value: Buffer.from('foo') },
      { type: 42, value: Buffer.from('bar') },
    ]);
    // 36 bytes of addresses and ports, 2 TLVs of 3+3 bytes: length 48.
    expect(h.subarray(12, 16).toString('hex')).toBe('21220030');
    expect(h.length).toBe(16 + 48);
    expect(h.subarray(52).toString('hex')).toBe('000003666f6f' + '2a0003626172');
  });

  it('writes the LOCAL header of health checks: command 0, family UNSPEC, no content', () => {
    expect(makeLocalProxyProtocolHeader().toString('hex')).toBe(`${SIG}20000000`);
  });

  it('refuses mixed address families with an error naming both', () => {
    expect(() => makeProxyProtocolHeader(false, new Uint8Array(4), 1, new Uint8Array(16), 2)).toThrow(ProxyProtocolEncodeError);
    expect(() => makeProxyProtocolHeader(false, new Uint8Array(4), 1, new Uint8Array(16), 2)).toThrow(/32-bit to a 128-bit/);
  });

  it('parses what it writes, followed by a DNS message', () => {
    const h = makeProxyProtocolHeader(false, Uint8Array.from([127, 0, 0, 2]), 4242, Uint8Array.from([127, 0, 0, 1]), 53, [
      { type: 2, value: Buffer.from('') },
      { type: 3, value: Buffer.from('proxy') },
    ]);
    const packet = Buffer.concat([h, Buffer.alloc(12, 0xaa)]);
    const parsed = parseProxyProtocolHeader(packet, packet.length) as ProxyProtocolHeader;
    expect(parsed).toMatchObject({ local: false, tcp: false, sourcePort: 4242, destinationPort: 53, size: h.length });
    expect([...parsed.source!]).toEqual([127, 0, 0, 2]);
    expect([...parsed.destination!]).toEqual([127, 0, 0, 1]);
    expect(parsed.values.map((v) => [v.type, Buffer.from(v.value).toString()])).toEqual([
      [2, ''],
      [3, 'proxy'],
    ]);
  });

  it('parses the spec vector, a LOCAL header, and says when more bytes are needed', () => {
    const v = hex(`${SIG}2111000cc0000201c6336407dc040035`);
    expect(parseProxyProtocolHeader(v, v.length)).toMatchObject({ tcp: true, sourcePort: 56324, destinationPort: 53, size: 28 });
    expect(parseProxyProtocolHeader(v, 20)).toBe(ProxyProtocolParse.NeedMore);
    expect(parseProxyProtocolHeader(v, 8)).toBe(ProxyProtocolParse.NeedMore);
    expect(parseProxyProtocolHeader(hex(`${SIG}20000000`), 16)).toMatchObject({ local: true, size: 16 });
  });

  it('refuses v1 text headers, a DNS query, bad versions, families, truncated TLVs and oversized payloads', () => {
    const v1 = Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.7 56324 53\r\n');
    expect(parseProxyProtocolHeader(v1, v1.length)).toBe(ProxyProtocolParse.Invalid);
    const dns = hex('abcd01000001000000000000');
    expect(parseProxyProtocolHeader(dns, dns.length)).toBe(ProxyProtocolParse.Invalid);
    const v1version = hex(`${SIG}1111000cc0000201c6336407dc040035`);
    expect(parseProxyProtocolHeader(v1version, v1version.length)).toBe(ProxyProtocolParse.Invalid);
    const unix = hex(`${SIG}2131000cc0000201c6336407dc040035`);
    expect(parseProxyProtocolHeader(unix, unix.length)).toBe(ProxyProtocolParse.Invalid);
    const badTlv = hex(`${SIG}2112000fc0000201c6336407dc040035 010005 00`);
    expect(parseProxyProtocolHeader(badTlv, badTlv.length)).toBe(ProxyProtocolParse.Invalid);
    const big = hex(`${SIG}21120201`);
    expect(parseProxyProtocolHeader(big, big.length, 512)).toBe(ProxyProtocolParse.TooLarge);
  });
});
