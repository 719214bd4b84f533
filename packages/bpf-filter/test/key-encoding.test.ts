import { ipv4FromKey, ipv4Key, ipv6Key } from '../src/address-key.js';
import { cidrFromKey, cidrKey } from '../src/cidr-key.js';
import { decodeCounterAction, encodeCounterAction, encodeLegacyQNameValue } from '../src/counter-action-value.js';
import { externalQNameKey, legacyQNameKey, wireFromQNameKey, wireToText } from '../src/qname-key.js';
import { MatchAction } from '../src/match-action.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const wire = (name: string) =>
  Buffer.concat([
    ...name
      .split('.')
      .filter(Boolean)
      .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);

describe('map key and value encodings, byte for byte', () => {
  it('IPv4 keys are the address as a host-order u32', () => {
    expect(hex(ipv4Key(Uint8Array.of(192, 0, 2, 1)))).toBe('010200c0');
    expect([...ipv4FromKey(Buffer.from('010200c0', 'hex'))]).toEqual([192, 0, 2, 1]);
    expect(hex(ipv4Key(Uint8Array.of(0, 0, 0, 0)))).toBe('00000000');
    expect(hex(ipv4Key(Uint8Array.of(255, 255, 255, 255)))).toBe('ffffffff');
  });

  it('IPv6 keys are the 16 raw network-order bytes', () => {
    const one = new Uint8Array(16);
    one[15] = 1;
    expect(hex(ipv6Key(one))).toBe('00000000000000000000000000000001');
    expect(() => ipv6Key(new Uint8Array(4))).toThrow(/16 address bytes/);
  });

  it('external qname keys: lower-cased wire name, zero padding to 255, a zero byte, host-order qtype', () => {
    const k = externalQNameKey(wire('Evil.Example.COM'), 1);
    expect(k.length).toBe(258);
    expect(hex(k.subarray(0, 18))).toBe('046576696c076578616d706c6503636f6d00');
    expect(k.subarray(18, 256).every((b) => b === 0)).toBe(true);
    expect(k[255]).toBe(0);
    expect(hex(k.subarray(256))).toBe('0100');
    expect(hex(externalQNameKey(wire('x'), 255).subarray(256))).toBe('ff00');
    expect(hex(externalQNameKey(wire('x'), 65535).subarray(256))).toBe('ffff');
    expect(wireToText(wireFromQNameKey(k))).toBe('evil.example.com.');
  });

  it('the root name is the all-zero name part', () => {
    const k = externalQNameKey(Buffer.from([0]), 1);
    expect(k.subarray(0, 256).every((b) => b === 0)).toBe(true);
    expect(wireToText(wireFromQNameKey(k))).toBe('.');
  });

  it('a maximum-length (255-byte) name fills the name part exactly; longer is refused', () => {
    // 3 labels of 63 + 1 label of 61 = 4*1 + 250 = 254 bytes + root = 255.
    const labels = ['a'.repeat(63), 'B'.repeat(63), 'c'.repeat(63), 'D'.repeat(61)];
    const w = wire(labels.join('.'));
    expect(w.length).toBe(255);
    const k = legacyQNameKey(w);
    expect(k.length).toBe(255);
    expect(k.toString('latin1')).toContain('b'.repeat(63));
    expect(k.toString('latin1')).not.toMatch(/[A-Z]/);
    expect(() => legacyQNameKey(Buffer.concat([Buffer.from([1, 0x61]), w]))).toThrow('Invalid QName to block');
  });

  it('only ASCII A-Z is lower-cased; other bytes are kept', () => {
    const w = Buffer.from([3, 0x41, 0xc4, 0x5a, 0]);
    expect(hex(legacyQNameKey(w).subarray(0, 5))).toBe('0361c47a00');
    expect(wireToText(Buffer.from([3, 0x61, 0x2e, 0x20, 0]))).toBe('a\\.\\032.');
  });

  it('LPM keys: u32 prefix length (host order) and the masked network-order address', () => {
    expect(hex(cidrKey(Uint8Array.of(192, 0, 2, 77), 24))).toBe('18000000c0000200');
    expect(hex(cidrKey(Uint8Array.of(10, 255, 255, 255), 12))).toBe('0c0000000af00000');
    const v6 = new Uint8Array(16).fill(0xff);
    expect(hex(cidrKey(v6, 33))).toBe('21000000' + 'ffffffff80' + '00'.repeat(11));
    expect(cidrFromKey(cidrKey(Uint8Array.of(192, 0, 2, 0), 24))).toEqual({ bits: 24, addr: Uint8Array.of(192, 0, 2, 0) });
  });

  it('values: counter u64 at 0, action u8 at 8, padding ignored on read', () => {
    const v = encodeCounterAction(MatchAction.Truncate, 5n);
    expect(hex(v)).toBe('0500000000000000' + '02' + '00'.repeat(7));
    v.fill(0x9c, 9);
    expect(decodeCounterAction(v)).toEqual({ counter: 5n, action: 2 });
    expect(hex(encodeLegacyQNameValue(16, 3n))).toBe('0300000000000000' + '1000' + '00'.repeat(6));
  });
});
