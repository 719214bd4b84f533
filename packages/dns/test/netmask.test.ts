import { Netmask } from '../src/netmask.js';
import { AddressParseError } from '../src/errors.js';
import { parseAddress, parseIPv4, parseIPv6 } from '../src/ip-address.js';

const v4 = parseIPv4;
const v6 = parseIPv6;

describe('Netmask', () => {
  it('clears host bits and prints the network with its prefix', () => {
    expect(Netmask.fromString('10.1.2.3/8').toString()).toBe('10.0.0.0/8');
    expect(Netmask.fromString('192.0.2.255/25').toString()).toBe('192.0.2.128/25');
    expect(Netmask.fromString('192.0.2.0/24').toString()).toBe('192.0.2.0/24');
    expect(Netmask.fromString('2001:db8:ffff::1/32').toString()).toBe('2001:db8::/32');
    expect(Netmask.fromString('2001:db8::ff/121').toString()).toBe('2001:db8::80/121');
    expect(Netmask.fromString('1.2.3.4/0').toString()).toBe('0.0.0.0/0');
    expect(Netmask.fromString('::1/0').toString()).toBe('::/0');
    expect([...Netmask.fromString('10.1.2.3/12').network()]).toEqual([10, 0, 0, 0]);
    expect([...Netmask.fromString('10.31.2.3/12').network()]).toEqual([10, 16, 0, 0]);
  });

  it('treats a bare address as a single host', () => {
    const h4 = Netmask.fromString('192.0.2.1');
    expect([h4.family, h4.bits, h4.toString()]).toEqual([4, 32, '192.0.2.1/32']);
    const h6 = Netmask.fromString('2001:db8::1');
    expect([h6.family, h6.bits, h6.toString()]).toEqual([6, 128, '2001:db8::1/128']);
  });

  it('matches addresses bit by bit', () => {
    const m = Netmask.fromString('192.0.2.128/25');
    expect(m.match(v4('192.0.2.128'))).toBe(true);
    expect(m.match(v4('192.0.2.255'))).toBe(true);
    expect(m.match(v4('192.0.2.127'))).toBe(false);
    expect(m.match(v4('192.0.3.128'))).toBe(false);

    const odd = Netmask.fromString('10.16.0.0/12');
    expect(odd.match(v4('10.31.255.255'))).toBe(true);
    expect(odd.match(v4('10.32.0.0'))).toBe(false);
    expect(odd.match(v4('10.15.255.255'))).toBe(false);

    expect(Netmask.fromString('0.0.0.0/0').match(v4('203.0.113.9'))).toBe(true);
    expect(Netmask.fromString('192.0.2.1').match(v4('192.0.2.1'))).toBe(true);
    expect(Netmask.fromString('192.0.2.1').match(v4('192.0.2.0'))).toBe(false);

    const m6 = Netmask.fromString('2001:db8::/33');
    expect(m6.match(v6('2001:db8:7fff::1'))).toBe(true);
    expect(m6.match(v6('2001:db8:8000::1'))).toBe(false);
    expect(Netmask.fromString('::/0').match(v6('ffff::'))).toBe(true);
    expect(Netmask.fromString('2001:db8::1').match(v6('2001:db8::1'))).toBe(true);
    expect(Netmask.fromString('2001:db8::1').match(v6('2001:db8::2'))).toBe(false);
  });

  it('accepts Buffers and never matches the other family', () => {
    expect(Netmask.fromString('192.0.2.0/24').match(Buffer.from([192, 0, 2, 7]))).toBe(true);
    expect(Netmask.fromString('0.0.0.0/0').match(v6('::ffff:192.0.2.1'))).toBe(false);
    expect(Netmask.fromString('::/0').match(v4('192.0.2.1'))).toBe(false);
    expect(Netmask.fromString('0.0.0.0/0').match(new Uint8Array(5))).toBe(false);
  });

  it('can be built from bytes and compared', () => {
    const m = new Netmask(parseAddress('10.9.8.7').bytes, 16);
    expect(m.toString()).toBe('10.9.0.0/16');
    expect(m.equals(Netmask.fromString('10.9.255.255/16'))).toBe(true);
    expect(m.equals(Netmask.fromString('10.9.0.0/17'))).toBe(false);
    expect(m.contains(Netmask.fromString('10.9.3.0/24'))).toBe(true);
    expect(m.contains(Netmask.fromString('10.0.0.0/8'))).toBe(false);
    expect(m.contains(Netmask.fromString('::/0'))).toBe(false);
    expect(JSON.stringify([m])).toBe('["10.9.0.0/16"]');
  });

  it('rejects prefixes too long for the family and malformed text', () => {
    expect(() => Netmask.fromString('10.0.0.0/33')).toThrow(/invalid prefix length "33": use 0 to 32 for IPv4/);
    expect(() => Netmask.fromString('::/129')).toThrow(/use 0 to 128 for IPv6/);
    expect(() => Netmask.fromString('10.0.0.0/')).toThrow(AddressParseError);
    expect(() => Netmask.fromString('10.0.0.0/-1')).toThrow(AddressParseError);
    expect(() => Netmask.fromString('10.0.0.0/8/8')).toThrow(AddressParseError);
    expect(() => Netmask.fromString('10.0.0/8')).toThrow(/not an IPv4 address/);
    expect(() => new Netmask(new Uint8Array(4), 33)).toThrow(/prefix length 33 does not fit 0.0.0.0: use 0 to 32/);
    expect(() => new Netmask(new Uint8Array(4), 1.5)).toThrow(AddressParseError);
    expect(() => new Netmask(new Uint8Array(3), 8)).toThrow(/got 3 bytes/);
    try {
      Netmask.fromString('10.0.0.0/33');
    } catch (e) {
      expect((e as AddressParseError).input).toBe('10.0.0.0/33');
    }
  });
});
