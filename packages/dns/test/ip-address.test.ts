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

  it('rejects malformed text with an AddressParseError naming it and saying what to write', () => {
    // Leading zeros: inet_aton would read "010" as octal; dnsdist's Netmask refuses them, so do we.
    const bad = [
      '01.2.3.4',
      '1.2.3.00',
      '256.1.1.1',
      '1.2.3',
      '1.2.3.4.5',
      '1.2..4',
      '1.2.3.a',
      '1.2.3.-1',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '1.2.3.1000',
      '',
      '0x1.1.1.1',
      '+1.2.3.4',
    ];
    for (const text of bad) {
      let caught: unknown;
      try {
        parseIPv4(text);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(AddressParseError);
      expect((caught as AddressParseError).input).toBe(text);
      expect((caught as AddressParseError).message).toContain(`"${text}" is not an IPv4 address`);
      expect((caught as AddressParseError).message).toMatch(/without leading zeros, as in 192\.0\.2\.1/);
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

  it('rejects malformed text with an AddressParseError naming it', () => {
    const bad = [
      '',
      ':',
      ':::',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '1:2:3:4::5:6:7:8',
      '1:2:3:4:5:6:7:8::',
      '12345::',
      'g::1',
      ':1::2',
      '1::2:',
      '::ffff:1.2.3',
      '::ffff:01.2.3.4',
      '1.2.3.4::',
      '::1.2.3.4:1',
      '1:2:3:4:5:6:7:1.2.3.4',
      '[::1]',
      ' ::1',
      '::1 ',
    ];
    for (const text of bad) {
      let caught: unknown;
      try {
        parseIPv6(text);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(AddressParseError);
      expect((caught as AddressParseError).input).toBe(text);
      expect((caught as AddressParseError).message).toContain(`"${text}" is not an IPv6 address`);
      expect((caught as AddressParseError).message).toMatch(/as in 2001:db8::1/);
    }
  });

  it('refuses zone ids, which ip-num would read but the per-query bytes cannot hold', () => {
    expect(() => parseIPv6('fe80::1%eth0')).toThrow(/zone ids \("%eth0"\) are not supported, remove it/);
    expect(() => parseAddress('fe80::1%1')).toThrow(AddressParseError);
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
    expect(() => parseAddressWithPort('01.2.3.4:53', 53)).toThrow(/"01\.2\.3\.4" is not an IPv4 address/);
  });

  it('formats back to text parseAddressWithPort reads', () => {
    for (const text of ['192.0.2.1:53', '[2001:db8::1]:853', '[::ffff:192.0.2.1]:53']) {
      expect(formatAddressWithPort(parseAddressWithPort(text, 0))).toBe(text);
    }
  });
});
