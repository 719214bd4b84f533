/**
 * Property tests: text parsed through ip-num (configuration and API time)
 * and the bytes the per-query path compares (Netmask / NetmaskGroup
 * `match`) agree on every address and mask the generators produce, and
 * every invalid input is refused with an AddressParseError naming it.
 */
import fc from 'fast-check';
import ipNum from 'ip-num';
import { AddressParseError } from '../src/errors.js';
import { formatIPv4, formatIPv6, parseAddress, parseAddressWithPort, parseIPv4, parseIPv6 } from '../src/ip-address.js';
import { Netmask } from '../src/netmask.js';
import { NetmaskGroup } from '../src/netmask-group.js';
import { peerAddressBytes } from '../src/peer-address.js';

const { IPv4, IPv6, IPv4CidrRange, IPv6CidrRange } = ipNum;

const RUNS = { numRuns: 2000 };

const valueOf = (bytes: Uint8Array): bigint => bytes.reduce((v, b) => (v << 8n) | BigInt(b), 0n);
const hexGroups = (bytes: Uint8Array): number[] => Array.from({ length: 8 }, (_, i) => (bytes[i * 2]! << 8) | bytes[i * 2 + 1]!);

const v4Bytes = fc.uint8Array({ minLength: 4, maxLength: 4 });
/** 16 bytes with about half the groups zero, so "::" runs of every length come up. */
const v6Bytes = fc
  .tuple(fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), fc.uint8Array({ minLength: 16, maxLength: 16 }))
  .map(([zero, raw]) => {
    const out = Uint8Array.from(raw);
    zero.forEach((z, i) => {
      if (z) out[i * 2] = out[i * 2 + 1] = 0;
    });
    return out;
  });

/** The many ways one IPv6 address can be written: RFC 5952, full, zero-padded, upper case, dotted IPv4 tail. */
const v6Text = (bytes: Uint8Array): fc.Arbitrary<string> => {
  const groups = hexGroups(bytes);
  const tail = `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  return fc.constantFrom(
    formatIPv6(bytes),
    formatIPv6(bytes).toUpperCase(),
    groups.map((g) => g.toString(16)).join(':'),
    groups.map((g) => g.toString(16).padStart(4, '0')).join(':'),
    `${groups
      .slice(0, 6)
      .map((g) => g.toString(16))
      .join(':')}:${tail}`,
  );
};

/** Who refused: an AddressParseError whose input is exactly the text and whose message quotes it. */
function expectRefused(parse: () => unknown, text: string): void {
  let caught: unknown;
  try {
    parse();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(AddressParseError);
  expect((caught as AddressParseError).input).toBe(text);
  expect((caught as AddressParseError).message).toContain(`"${text}"`);
}

describe('valid addresses: ip-num and the per-query bytes agree', () => {
  it('IPv4 dotted quads give the bytes ip-num values them at', () => {
    fc.assert(
      fc.property(v4Bytes, (bytes) => {
        const text = formatIPv4(bytes);
        expect(parseIPv4(text)).toEqual(bytes);
        expect(valueOf(parseIPv4(text))).toBe(IPv4.fromString(text).getValue());
        expect(parseAddress(text)).toEqual({ family: 4, bytes });
      }),
      RUNS,
    );
  });

  it('every way of writing an IPv6 address gives the same 16 bytes', () => {
    fc.assert(
      fc.property(
        v6Bytes.chain((bytes) => fc.tuple(fc.constant(bytes), v6Text(bytes))),
        ([bytes, text]) => {
          expect(parseIPv6(text)).toEqual(bytes);
          expect(valueOf(parseIPv6(text))).toBe(IPv6.fromString(text).getValue());
          expect(parseAddressWithPort(`[${text}]:53`, 0)).toEqual({ family: 6, bytes, port: 53 });
        },
      ),
      RUNS,
    );
  });

  it('IPv4-mapped IPv6 stays IPv6 (16 bytes), as in dnsdist', () => {
    fc.assert(
      fc.property(v4Bytes, (v4) => {
        const parsed = parseAddress(`::ffff:${formatIPv4(v4)}`);
        expect(parsed.family).toBe(6);
        expect(parsed.bytes.subarray(12)).toEqual(v4);
        expect(new Netmask(v4, 32).match(parsed.bytes)).toBe(false);
      }),
      RUNS,
    );
  });
});

describe('netmasks: the text ip-num reads and the bit comparisons per query agree', () => {
  const maskCase = fc.oneof(
    fc.tuple(v4Bytes, fc.integer({ min: 0, max: 32 }), v4Bytes),
    fc.tuple(v6Bytes, fc.integer({ min: 0, max: 128 }), v6Bytes),
  );

  it('a mask with host bits set is its network, and match agrees with ip-num range membership', () => {
    fc.assert(
      fc.property(maskCase, fc.boolean(), ([address, bits, probe], probeInside) => {
        const v4 = address.length === 4;
        const text = `${v4 ? formatIPv4(address) : formatIPv6(address)}/${bits}`;
        const nm = Netmask.fromString(text);
        // ip-num's range of the same text, host bits and all.
        const range = v4 ? IPv4CidrRange.fromCidr(text) : IPv6CidrRange.fromCidr(text);
        const first = range.getFirst().getValue();
        const last = range.getLast().getValue();
        expect(valueOf(nm.network())).toBe(first);
        expect(nm.bits).toBe(bits);

        // Half the probes are pulled into the range so both answers are exercised.
        const p = Uint8Array.from(probe);
        if (probeInside) {
          const size = last - first + 1n;
          const offset = valueOf(p) % size;
          const inside = first + offset;
          for (let i = p.length - 1, v = inside; i >= 0; i--, v >>= 8n) p[i] = Number(v & 0xffn);
        }
        const value = valueOf(p);
        const expected = value >= first && value <= last;
        expect(nm.match(p)).toBe(expected);
        expect(new NetmaskGroup().addMask(text).match(p)).toBe(expected);
        expect(new NetmaskGroup().addMask(`!${text}`).match(p)).toBe(false);
      }),
      RUNS,
    );
  });

  it('a bare address is a single host: /32 or /128', () => {
    fc.assert(
      fc.property(fc.oneof(v4Bytes, v6Bytes), (bytes) => {
        const text = bytes.length === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
        const nm = Netmask.fromString(text);
        expect(nm.bits).toBe(bytes.length * 8);
        expect(nm.network()).toEqual(bytes);
      }),
      RUNS,
    );
  });
});

describe('invalid input: refused with an AddressParseError naming it', () => {
  /** Break one part of a valid dotted quad in a way dnsdist's Netmask refuses too. */
  const badV4 = fc.tuple(v4Bytes, fc.nat(3), fc.nat(9)).map(([bytes, at, how]) => {
    const parts = [...bytes].map(String);
    const breakers: Array<(s: string) => string> = [
      (s) => `0${s}`, // leading zero: octal to inet_aton
      () => String(256 + (bytes[at]! % 744)), // over 255
      () => '', // empty part
      (s) => `${s}a`,
      (s) => `-${s}`,
      (s) => `+${s}`,
      (s) => ` ${s}`,
      (s) => `${s} `,
      (s) => `0x${s}`,
      (s) => `${s}.${s}`, // five parts
    ];
    parts[at] = breakers[how]!(parts[at]!);
    return how === 9 && at === 3 ? parts.slice(0, 3).join('.') : parts.join('.'); // or three parts
  });

  const badV6 = fc.tuple(v6Bytes, fc.nat(7), fc.nat(8)).map(([bytes, at, how]) => {
    const groups = hexGroups(bytes).map((g) => g.toString(16));
    switch (how) {
      case 0:
        groups[at] = `1${groups[at]!.padStart(4, '0')}`; // five hex digits
        break;
      case 1:
        groups[at] = 'g'; // not hex
        break;
      case 2:
        return groups.slice(0, 7).join(':'); // seven groups
      case 3:
        return [...groups, '1'].join(':'); // nine groups
      case 4:
        return `${groups.slice(0, 2).join(':')}::${groups[3]}::${groups[5]}`; // two "::"
      case 5:
        return `${formatIPv6(bytes)}%eth${at}`; // zone id
      case 6:
        return `${groups.slice(0, 6).join(':')}:0${bytes[12]}.1.2.3`; // leading zero in the IPv4 tail
      case 7:
        return `${groups.join(':')}:1.2.3.4`; // IPv4 tail after 8 groups
      default:
        return ` ${formatIPv6(bytes)}`;
    }
    return groups.join(':');
  });

  it('malformed IPv4 is refused, as dnsdist refuses it in a netmask (leading zeros included)', () => {
    fc.assert(
      fc.property(badV4, (text) => {
        expectRefused(() => parseIPv4(text), text);
        expectRefused(() => parseAddress(text), text);
        expectRefused(() => Netmask.fromString(text), text);
        expectRefused(() => Netmask.fromString(`${text}/8`), `${text}/8`);
      }),
      RUNS,
    );
  });

  it('malformed IPv6 is refused', () => {
    fc.assert(
      fc.property(badV6, (text) => {
        expectRefused(() => parseIPv6(text), text);
        expectRefused(() => Netmask.fromString(`${text}/64`), `${text}/64`);
      }),
      RUNS,
    );
  });

  it('prefix lengths outside the family or not plain decimal are refused', () => {
    const badPrefix = fc.oneof(
      fc.tuple(
        v4Bytes.map(formatIPv4),
        fc.oneof(fc.integer({ min: 33, max: 999 }).map(String), fc.constantFrom('', '-1', '+8', '8 ', ' 8', '1e1', '0x8', '8/8', '0008')),
      ),
      fc.tuple(
        v6Bytes.map(formatIPv6),
        fc.oneof(fc.integer({ min: 129, max: 999 }).map(String), fc.constantFrom('', '-1', '+64', '64 ', '0064')),
      ),
    );
    fc.assert(
      fc.property(badPrefix, ([address, prefix]) => {
        const text = `${address}/${prefix}`;
        expectRefused(() => Netmask.fromString(text), text);
        expect(() => new NetmaskGroup().addMask(`!${text}`)).toThrow(AddressParseError);
      }),
      RUNS,
    );
  });

  it('any text either parses to bytes ip-num agrees with, or is refused with an AddressParseError naming it', () => {
    const pieces = fc.constantFrom(
      '::',
      'ffff',
      '0',
      '00',
      '010',
      '255',
      '256',
      '1',
      '.',
      ':',
      '192.0.2.1',
      '/',
      '24',
      '33',
      '129',
      '%',
      'g',
      ' ',
      '[',
      ']',
    );
    fc.assert(
      fc.property(
        fc.array(pieces, { maxLength: 12 }).map((a) => a.join('')),
        (text) => {
          let bytes: Uint8Array | undefined;
          try {
            bytes = parseAddress(text).bytes;
          } catch (e) {
            expect(e).toBeInstanceOf(AddressParseError);
            expect((e as AddressParseError).input).toBe(text);
          }
          if (bytes) expect(valueOf(bytes)).toBe((bytes.length === 4 ? IPv4 : IPv6).fromString(text).getValue());
          try {
            Netmask.fromString(text);
          } catch (e) {
            expect(e).toBeInstanceOf(AddressParseError);
          }
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe('peerAddressBytes (kernel-written peer text on the per-datagram path) agrees with ip-num', () => {
  it('gives the same bytes for every address as the kernel writes it', () => {
    fc.assert(
      fc.property(fc.oneof(v4Bytes, v6Bytes), (bytes) => {
        const text = bytes.length === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
        expect(peerAddressBytes(text)).toEqual(bytes);
        expect(peerAddressBytes(text.toUpperCase())).toEqual(bytes);
      }),
      RUNS,
    );
  });

  it('on any text, gives what parseAddress gives or throws the same AddressParseError', () => {
    const pieces = fc.constantFrom(
      '::',
      ':',
      'ffff',
      'fFfF',
      '0',
      '00',
      '010',
      '255',
      '256',
      '1',
      '12345',
      '.',
      '192.0.2.1',
      '%',
      'g',
      ' ',
    );
    const outcome = (f: () => Uint8Array): string => {
      try {
        return Buffer.from(f()).toString('hex');
      } catch (e) {
        return e instanceof AddressParseError ? `refused ${e.message}` : `other ${String(e)}`;
      }
    };
    fc.assert(
      fc.property(
        fc.array(pieces, { maxLength: 14 }).map((a) => a.join('')),
        (text) => {
          expect(outcome(() => peerAddressBytes(text))).toBe(outcome(() => parseAddress(text).bytes));
        },
      ),
      { numRuns: 20000 },
    );
  });
});
