import { NetmaskGroup } from '../src/netmask-group.js';
import { Netmask } from '../src/netmask.js';
import { AddressParseError } from '../src/errors.js';
import { parseAddress } from '../src/ip-address.js';

const addr = (text: string) => parseAddress(text).bytes;

describe('NetmaskGroup', () => {
  it('lets the most specific range win, negated ones included', () => {
    const g = new NetmaskGroup();
    g.addMask('10.0.0.0/8').addMask('!10.1.0.0/16');
    expect(g.match(addr('10.2.3.4'))).toBe(true);
    expect(g.match(addr('10.1.2.3'))).toBe(false);
    expect(g.match(addr('11.0.0.1'))).toBe(false);

    // Re-allow a smaller hole inside the hole.
    g.addMask('10.1.2.0/24');
    expect(g.match(addr('10.1.2.3'))).toBe(true);
    expect(g.match(addr('10.1.3.3'))).toBe(false);

    // The order of adding does not matter.
    const h = new NetmaskGroup();
    h.addMask('10.1.2.0/24').addMask('!10.1.0.0/16').addMask('10.0.0.0/8');
    for (const a of ['10.2.3.4', '10.1.2.3', '10.1.3.3', '11.0.0.1']) expect(h.match(addr(a))).toBe(g.match(addr(a)));
  });

  it('handles host masks, /0 and IPv6 separately from IPv4', () => {
    const g = new NetmaskGroup();
    g.addMask('0.0.0.0/0').addMask('!192.0.2.1');
    expect(g.match(addr('203.0.113.1'))).toBe(true);
    expect(g.match(addr('192.0.2.1'))).toBe(false);
    expect(g.match(addr('192.0.2.2'))).toBe(true);
    expect(g.match(addr('::1'))).toBe(false);

    g.addMask('2001:db8::/32').addMask('!2001:db8:bad::/48').addMask('2001:db8:bad::53');
    expect(g.match(addr('2001:db8::1'))).toBe(true);
    expect(g.match(addr('2001:db8:bad::1'))).toBe(false);
    expect(g.match(addr('2001:db8:bad::53'))).toBe(true);
    expect(g.match(addr('2001:db9::1'))).toBe(false);
    expect(g.match(new Uint8Array(7))).toBe(false);
  });

  it('matches nothing when empty, or when the only range is negated', () => {
    const g = new NetmaskGroup();
    expect(g.match(addr('10.0.0.1'))).toBe(false);
    g.addMask('!0.0.0.0/0');
    expect(g.match(addr('10.0.0.1'))).toBe(false);
  });

  it('replaces a range added twice, keeping its place', () => {
    const g = new NetmaskGroup();
    g.addMask('10.0.0.0/8').addMask('192.0.2.0/24').addMask('!10.9.9.9/8');
    expect(g.size()).toBe(2);
    expect(g.toStrings()).toEqual(['!10.0.0.0/8', '192.0.2.0/24']);
    expect(g.match(addr('10.0.0.1'))).toBe(false);
    g.addMask(Netmask.fromString('10.0.0.0/8'));
    expect(g.match(addr('10.0.0.1'))).toBe(true);
    g.addMask(Netmask.fromString('192.0.2.0/24'), true);
    expect(g.toString()).toBe('10.0.0.0/8, !192.0.2.0/24');
  });

  it('deletes ranges and prunes what they leave', () => {
    const g = new NetmaskGroup();
    g.addMask('10.0.0.0/8').addMask('!10.1.0.0/16').addMask('10.1.2.0/24');
    expect(g.deleteMask('!10.1.0.0/16')).toBe(true);
    expect(g.deleteMask('10.1.0.0/16')).toBe(false);
    expect(g.match(addr('10.1.3.3'))).toBe(true);
    expect(g.deleteMask('10.1.2.0/24')).toBe(true);
    expect(g.deleteMask('10.0.0.0/8')).toBe(true);
    expect(g.match(addr('10.1.2.3'))).toBe(false);
    expect(g.size()).toBe(0);
    g.addMask('10.1.2.0/24');
    expect(g.match(addr('10.1.2.3'))).toBe(true);
  });

  it('clears and lists', () => {
    const g = new NetmaskGroup();
    g.addMask('192.0.2.7/24').addMask('!2001:DB8::/32').addMask('198.51.100.1');
    expect(g.size()).toBe(3);
    expect(g.toStrings()).toEqual(['192.0.2.0/24', '!2001:db8::/32', '198.51.100.1/32']);
    g.clear();
    expect(g.size()).toBe(0);
    expect(g.toStrings()).toEqual([]);
    expect(g.match(addr('192.0.2.7'))).toBe(false);
  });

  it('rejects malformed masks', () => {
    const g = new NetmaskGroup();
    expect(() => g.addMask('10.0.0.0/33')).toThrow(AddressParseError);
    expect(() => g.addMask('!!10.0.0.0/8')).toThrow(AddressParseError);
    expect(() => g.addMask('')).toThrow(AddressParseError);
    expect(g.size()).toBe(0);
  });

  it('agrees with a brute-force longest-prefix search', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const g = new NetmaskGroup();
    const masks: Array<{ m: Netmask; neg: boolean }> = [];
    for (let i = 0; i < 200; i++) {
      const m = new Netmask(Uint8Array.of(10, rand() & 3, rand() & 0xff, rand() & 0xff), 8 + (rand() % 25));
      const neg = rand() % 2 === 0;
      g.addMask(m, neg);
      const old = masks.findIndex((x) => x.m.equals(m));
      if (old >= 0) masks.splice(old, 1);
      masks.push({ m, neg });
    }
    for (let i = 0; i < 2000; i++) {
      const a = Uint8Array.of(10, rand() & 3, rand() & 0xff, rand() & 0xff);
      let best: { m: Netmask; neg: boolean } | undefined;
      for (const x of masks) if (x.m.match(a) && (!best || x.m.bits > best.m.bits)) best = x;
      expect(g.match(a)).toBe(best !== undefined && !best.neg);
    }
  });
});

describe('NetmaskGroup IPv4 matching: the flat scan (up to 32 ranges) and the trie (more) agree with a longest-prefix search', () => {
  /** Reference: the most specific containing range decides, by brute force over the ranges. */
  function reference(ranges: Array<{ network: number; bits: number; negated: boolean }>, address: number): boolean {
    let best: { bits: number; negated: boolean } | undefined;
    for (const r of ranges) {
      const mask = r.bits === 0 ? 0 : (0xffffffff << (32 - r.bits)) >>> 0;
      if ((address & mask) >>> 0 === (r.network & mask) >>> 0 && (best === undefined || r.bits > best.bits)) best = r;
    }
    return best !== undefined && !best.negated;
  }
  const text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

  for (const count of [1, 6, 32, 33, 200]) {
    it(`${count} random ranges, some negated, some nested, changed as it goes`, () => {
      let seed = count * 7919;
      const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
      // Addresses drawn near a few bases, so that ranges nest and addresses fall inside them.
      const bases = [0x0a000000, 0xc0000200, 0x7f000001, 0xac100000];
      const near = () => (bases[rnd() % bases.length]! ^ (rnd() & 0x0003ffff)) >>> 0;
      const ranges = new Map<string, { network: number; bits: number; negated: boolean }>();
      const g = new NetmaskGroup();
      const wrong: string[] = [];
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < count; i++) {
          const bits = [0, 8, 12, 16, 20, 24, 28, 32][rnd() % 8]!;
          const network = near();
          const negated = rnd() % 3 === 0;
          const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
          const key = `${text((network & mask) >>> 0)}/${bits}`;
          ranges.set(key, { network, bits, negated });
          g.addMask(`${negated ? '!' : ''}${key}`);
        }
        // Take some out again: the scan is made anew after a change.
        for (const key of [...ranges.keys()].filter(() => rnd() % 4 === 0)) {
          ranges.delete(key);
          g.deleteMask(key);
        }
        for (let i = 0; i < 2000; i++) {
          const a = near();
          const bytes = Uint8Array.of(a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255);
          const want = reference([...ranges.values()], a);
          if (g.match(bytes) !== want) wrong.push(`${text(a)}: want ${want}`);
        }
      }
      expect(wrong).toEqual([]);
    });
  }
});
