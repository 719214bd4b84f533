import { isIPv6 } from 'node:net';
import {
  formatAddress,
  formatAddressWithPort,
  formatIPv4,
  formatIPv6,
  parseAddress,
  parseAddressWithPort,
  parseIPv4,
  parseIPv6,
} from '../src/ip-address.js';
import { AddressParseError } from '../src/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('IPv4', () => {
  it('parses strict dotted quads into network-order bytes', () => {
    expect([...parseIPv4('192.0.2.1')]).toEqual([192, 0, 2, 1]);
    expect([...parseIPv4('0.0.0.0')]).toEqual([0, 0, 0, 0]);
    expect([...parseIPv4('255.255.255.255')]).toEqual([255, 255, 255, 255]);
    expect(formatIPv4(Uint8Array.of(10, 0, 0, 1))).toBe('10.0.0.1');
  });

  it('rejects malformed text, saying which part is wrong', () => {
    const bad: Array<[string, RegExp]> = [
      ['01.2.3.4', /part 1 "01" has a leading zero/],
      ['1.2.3.00', /leading zero/],
      ['256.1.1.1', /part 1 "256" is over 255/],
      ['1.2.3', /3 dot-separated parts/],
      ['1.2.3.4.5', /5 dot-separated parts/],
      ['1.2..4', /part 3 ""/],
      ['1.2.3.a', /not a decimal number/],
      ['1.2.3.-1', /not a decimal number/],
      [' 1.2.3.4', /not a decimal number/],
      ['1.2.3.1000', /part 4/],
      ['', /1 dot-separated parts/],
    ];
    for (const [text, why] of bad) {
      expect(() => parseIPv4(text)).toThrow(AddressParseError);
      expect(() => parseIPv4(text)).toThrow(why);
    }
    try {
      parseIPv4('01.2.3.4');
    } catch (e) {
      expect((e as AddressParseError).input).toBe('01.2.3.4');
    }
  });
});

describe('IPv6', () => {
  it('parses full, compressed, mixed-case and IPv4-tailed forms', () => {
    expect(hex(parseIPv6('::'))).toBe('0'.repeat(32));
    expect(hex(parseIPv6('::1'))).toBe(`${'0'.repeat(30)}01`);
    expect(hex(parseIPv6('2001:DB8::1'))).toBe('20010db8000000000000000000000001');
    expect(hex(parseIPv6('2001:0db8:0000:0000:0000:0000:0000:0001'))).toBe('20010db8000000000000000000000001');
    expect(hex(parseIPv6('1::'))).toBe(`0001${'0'.repeat(28)}`);
    expect(hex(parseIPv6('1:2:3:4:5:6:7::'))).toBe('0001000200030004000500060007' + '0000');
    expect(hex(parseIPv6('::2:3:4:5:6:7:8'))).toBe('0000' + '0002000300040005000600070008');
    expect(hex(parseIPv6('::ffff:192.0.2.1'))).toBe('00000000000000000000ffffc0000201');
    expect(hex(parseIPv6('64:ff9b::192.0.2.1'))).toBe('0064ff9b0000000000000000c0000201');
    expect(hex(parseIPv6('1:2:3:4:5:6:1.2.3.4'))).toBe('00010002000300040005000601020304');
  });

  it('rejects malformed text', () => {
    const bad: Array<[string, RegExp]> = [
      ['', /0 groups/],
      [':', /empty group/],
      [':::', /only once/],
      ['1::2::3', /only once/],
      ['1:2:3:4:5:6:7:8:9', /9 groups/],
      ['1:2:3:4:5:6:7', /7 groups/],
      ['1:2:3:4::5:6:7:8', /too many groups/],
      ['1:2:3:4:5:6:7:8::', /too many groups/],
      ['12345::', /more than 4 hex digits/],
      ['g::1', /not hexadecimal/],
      [':1::2', /empty group/],
      ['1::2:', /empty group/],
      ['::ffff:1.2.3', /IPv4 tail "1.2.3" is invalid/],
      ['::ffff:01.2.3.4', /leading zero/],
      ['1.2.3.4::', /not hexadecimal/],
      ['::1.2.3.4:1', /not hexadecimal/],
      ['1:2:3:4:5:6:7:1.2.3.4', /9 groups/],
      ['fe80::1%eth0', /zone ids/],
    ];
    for (const [text, why] of bad) {
      expect(() => parseIPv6(text)).toThrow(AddressParseError);
      expect(() => parseIPv6(text)).toThrow(why);
    }
  });

  it('formats as RFC 5952 and round-trips', () => {
    const cases: Array<[string, string]> = [
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['2001:DB8::1', '2001:db8::1'],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['1:0:0:1::1', '1:0:0:1::1'], // the longer run wins
      ['1:0:0:1:0:0:1:1', '1::1:0:0:1:1'], // first on a tie
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
      ['2001:db8::1:0:0:1', '2001:db8::1:0:0:1'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['::ffff:c000:201', '::ffff:192.0.2.1'],
      ['::ffff:0:0', '::ffff:0.0.0.0'],
      ['::1.2.3.4', '::102:304'],
      ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
      ['fe80::ABCD:0001', 'fe80::abcd:1'],
    ];
    for (const [input, canonical] of cases) {
      const bytes = parseIPv6(input);
      expect(formatIPv6(bytes)).toBe(canonical);
      expect(hex(parseIPv6(canonical))).toBe(hex(bytes));
      expect(isIPv6(canonical)).toBe(true);
    }
  });

  it('round-trips random addresses with long zero runs', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let n = 0; n < 500; n++) {
      const bytes = new Uint8Array(16);
      for (let i = 0; i < 8; i++) {
        if (rand() % 2) continue; // half the groups zero
        bytes[i * 2] = rand() & 0xff;
        bytes[i * 2 + 1] = rand() & 0xff;
      }
      expect(parseIPv6(formatIPv6(bytes))).toEqual(bytes);
    }
  });
});

describe('parseAddress and formatAddress', () => {
  it('picks the family by the presence of a colon', () => {
    expect(parseAddress('192.0.2.1')).toEqual({ family: 4, bytes: Uint8Array.of(192, 0, 2, 1) });
    expect(parseAddress('::1').family).toBe(6);
    expect(formatAddress(Uint8Array.of(192, 0, 2, 1))).toBe('192.0.2.1');
    expect(formatAddress(parseIPv6('2001:db8::1'))).toBe('2001:db8::1');
    expect(() => formatAddress(new Uint8Array(5))).toThrow(/4 \(IPv4\) or 16 \(IPv6\) bytes, got 5/);
    expect(() => formatIPv4(new Uint8Array(16))).toThrow(AddressParseError);
    expect(() => formatIPv6(new Uint8Array(4))).toThrow(AddressParseError);
  });
});

describe('parseAddressWithPort', () => {
  it('reads the forms dnsdist accepts', () => {
    expect(parseAddressWithPort('1.2.3.4:53', 5300)).toEqual({ family: 4, bytes: Uint8Array.of(1, 2, 3, 4), port: 53 });
    expect(parseAddressWithPort('1.2.3.4', 5300)).toEqual({ family: 4, bytes: Uint8Array.of(1, 2, 3, 4), port: 5300 });
    expect(parseAddressWithPort('[::1]:53', 5300)).toEqual({ family: 6, bytes: parseIPv6('::1'), port: 53 });
    expect(parseAddressWithPort('[::1]', 5300)).toEqual({ family: 6, bytes: parseIPv6('::1'), port: 5300 });
    expect(parseAddressWithPort('::1', 5300)).toEqual({ family: 6, bytes: parseIPv6('::1'), port: 5300 });
    expect(parseAddressWithPort('1.2.3.4:0', 53).port).toBe(0);
    expect(parseAddressWithPort('1.2.3.4:65535', 53).port).toBe(65535);
  });

  it('keeps every colon of unbracketed IPv6 in the address', () => {
    const a = parseAddressWithPort('2001:db8::1:53', 853);
    expect(formatAddress(a.bytes)).toBe('2001:db8::1:53');
    expect(a.port).toBe(853);
  });

  it('rejects bad ports and brackets', () => {
    expect(() => parseAddressWithPort('1.2.3.4:', 53)).toThrow(/invalid port ""/);
    expect(() => parseAddressWithPort('1.2.3.4:65536', 53)).toThrow(/invalid port "65536": use 0 to 65535/);
    expect(() => parseAddressWithPort('1.2.3.4:5x', 53)).toThrow(/invalid port/);
    expect(() => parseAddressWithPort('1.2.3.4:-1', 53)).toThrow(/invalid port/);
    expect(() => parseAddressWithPort('[::1', 53)).toThrow(/without a closing/);
    expect(() => parseAddressWithPort('[::1]53', 53)).toThrow(/expected ":port"/);
    expect(() => parseAddressWithPort('[1.2.3.4]:53', 53)).toThrow(AddressParseError);
    expect(() => parseAddressWithPort('01.2.3.4:53', 53)).toThrow(/leading zero/);
  });

  it('formats back to text parseAddressWithPort reads', () => {
    for (const text of ['192.0.2.1:53', '[2001:db8::1]:853', '[::ffff:192.0.2.1]:53']) {
      expect(formatAddressWithPort(parseAddressWithPort(text, 0))).toBe(text);
    }
  });
});
