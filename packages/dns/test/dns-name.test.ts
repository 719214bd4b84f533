import { DNSName } from '../src/dns-name.js';
import { DnsNameError } from '../src/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A name of labels of the given lengths, filled with 'a'. */
const nameOf = (...lengths: number[]): string => lengths.map((n) => 'a'.repeat(n)).join('.');

describe('DNSName from text', () => {
  it('keeps the original case and prints like dnsdist', () => {
    const n = DNSName.fromString('Evil.Example.COM');
    expect(n.toString()).toBe('Evil.Example.COM.');
    expect(n.toStringNoDot()).toBe('Evil.Example.COM');
    expect(hex(n.toWire())).toBe('044576696c074578616d706c6503434f4d00');
    expect(n.toLowerCase().toString()).toBe('evil.example.com.');
  });

  it('gives the exact lower-cased wire form', () => {
    expect([...DNSName.fromString('Evil.Example.COM').toWireLowerCase()]).toEqual([
      0x04, 0x65, 0x76, 0x69, 0x6c, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00,
    ]);
  });

  it('lowers ASCII A-Z only', () => {
    const n = DNSName.fromString('\\192Z\\091@.');
    expect([...n.toWireLowerCase()]).toEqual([4, 192, 0x7a, 0x5b, 0x40, 0]);
  });

  it('treats the trailing dot as optional and "." as the root', () => {
    expect(DNSName.fromString('example.com.').equals(DNSName.fromString('example.com'))).toBe(true);
    const root = DNSName.fromString('.');
    expect(root).toBe(DNSName.ROOT);
    expect(root.isRoot()).toBe(true);
    expect(root.toString()).toBe('.');
    expect(root.toStringNoDot()).toBe('');
    expect([...root.toWire()]).toEqual([0]);
    expect(root.wirelength()).toBe(1);
    expect(root.countLabels()).toBe(0);
    expect(root.labels()).toEqual([]);
  });

  it('rejects empty names and empty labels', () => {
    expect(() => DNSName.fromString('')).toThrow(/use "\." for the root/);
    for (const bad of ['a..b', '.a', 'a..', '..', '.a.b.']) {
      expect(() => DNSName.fromString(bad)).toThrow(DnsNameError);
      expect(() => DNSName.fromString(bad)).toThrow(/empty label/);
    }
  });

  it('accepts 63-byte labels and rejects 64', () => {
    const ok = DNSName.fromString(`${'x'.repeat(63)}.com`);
    expect(ok.wirelength()).toBe(1 + 63 + 1 + 3 + 1);
    const bad = `${'x'.repeat(64)}.com`;
    let err: unknown;
    try {
      DNSName.fromString(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DnsNameError);
    expect((err as DnsNameError).input).toBe(bad);
    expect((err as DnsNameError).message).toMatch(/^label "x{16}…" is 64 bytes \(max 63\) in name "x+…"/);
  });

  it('accepts a 255-byte name and rejects 256', () => {
    const max = DNSName.fromString(nameOf(63, 63, 63, 61));
    expect(max.wirelength()).toBe(255);
    expect(DNSName.fromString(`${nameOf(63, 63, 63, 61)}.`).wirelength()).toBe(255);
    expect(() => DNSName.fromString(nameOf(63, 63, 63, 62))).toThrow(/is 256 bytes in wire form \(max 255\)/);
    expect(() => DNSName.fromString(nameOf(...new Array<number>(128).fill(1)))).toThrow(/257 bytes/);
    expect(DNSName.fromString(nameOf(...new Array<number>(127).fill(1))).wirelength()).toBe(255);
  });

  it('understands \\. \\\\ and \\DDD escapes, and prints them back', () => {
    const n = DNSName.fromString('a\\.b.c');
    expect(n.countLabels()).toBe(2);
    expect(n.labels()).toEqual(['a.b', 'c']);
    expect(n.toString()).toBe('a\\.b.c.');
    expect(hex(n.toWire())).toBe('03612e620163' + '00');

    const d = DNSName.fromString('\\065\\000\\255x\\ y\\\\');
    expect([...d.toWire()]).toEqual([7, 65, 0, 255, 0x78, 0x20, 0x79, 0x5c, 0]);
    expect(d.toString()).toBe('A\\000\\255x\\032y\\\\.');
    expect(DNSName.fromString(d.toString()).toWire()).toEqual(d.toWire());

    expect(DNSName.fromString('a\\.').labels()).toEqual(['a.']);
    expect(DNSName.fromString('\\.').toString()).toBe('\\..');
  });

  it('rejects bad escapes', () => {
    expect(() => DNSName.fromString('a\\')).toThrow(/lone backslash/);
    expect(() => DNSName.fromString('a\\25')).toThrow(/three decimal digits/);
    expect(() => DNSName.fromString('a\\2x5')).toThrow(/three decimal digits/);
    expect(() => DNSName.fromString('a\\256')).toThrow(/over 255/);
  });

  it('counts escaped bytes, not text characters, against the label limit', () => {
    expect(DNSName.fromString('\\000'.repeat(63)).wirelength()).toBe(65);
    expect(() => DNSName.fromString('\\000'.repeat(64))).toThrow(/64 bytes/);
  });

  it('stores non-ASCII text as UTF-8 bytes', () => {
    const n = DNSName.fromString('bücher.de');
    expect(n.wirelength()).toBe(1 + 7 + 1 + 2 + 1);
    expect(n.toString()).toBe('b\\195\\188cher.de.');
    expect(DNSName.fromString(n.toString()).equals(n)).toBe(true);
  });
});

describe('DNSName from wire', () => {
  it('reads a name at an offset and reports the bytes consumed', () => {
    const buf = Buffer.concat([Buffer.from([0xaa, 0xbb]), DNSName.fromString('www.Example.com').toWire(), Buffer.from([0, 1])]);
    const { name, consumed } = DNSName.fromWire(buf, 2);
    expect(name.toString()).toBe('www.Example.com.');
    expect(consumed).toBe(17);
    buf.fill(0);
    expect(name.toString()).toBe('www.Example.com.');
  });

  it('reads the root', () => {
    const r = DNSName.fromWire(Uint8Array.of(0));
    expect(r.name.isRoot()).toBe(true);
    expect(r.consumed).toBe(1);
  });

  it('refuses compression pointers, reserved label types, truncation and overlong names', () => {
    expect(() => DNSName.fromWire(Uint8Array.of(1, 0x61, 0xc0, 0x0c))).toThrow(/compression pointer at offset 2/);
    expect(() => DNSName.fromWire(Uint8Array.of(0x41, 0x61))).toThrow(/not a plain label/);
    expect(() => DNSName.fromWire(Uint8Array.of(3, 0x61, 0x62))).toThrow(/runs past the end/);
    expect(() => DNSName.fromWire(Uint8Array.of(1, 0x61))).toThrow(/runs past the end/);
    expect(() => DNSName.fromWire(new Uint8Array(0))).toThrow(DnsNameError);

    const max = DNSName.fromString(nameOf(63, 63, 63, 61)).toWire();
    expect(DNSName.fromWire(max).consumed).toBe(255);
    const tooLong = Buffer.concat([Buffer.from([1, 0x61]), max]);
    let err: unknown;
    try {
      DNSName.fromWire(tooLong);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DnsNameError);
    expect((err as DnsNameError).message).toMatch(/longer than 255/);
    expect((err as DnsNameError).input).toBe(tooLong);
  });

  it('round-trips through text and wire', () => {
    for (const text of ['.', 'a.', 'Evil.Example.COM.', 'x\\.y.z.', '\\000.\\255.']) {
      const n = DNSName.fromString(text);
      expect(n.toString()).toBe(text);
      expect(DNSName.fromWire(n.toWire()).name.toString()).toBe(text);
    }
  });
});

describe('DNSName relations', () => {
  const n = (s: string) => DNSName.fromString(s);

  it('compares ignoring ASCII case only', () => {
    expect(n('Evil.Example.COM').equals(n('evil.example.com.'))).toBe(true);
    expect(n('evil.example.com').equals(n('evil.example.org'))).toBe(false);
    expect(n('a.b').equals(n('a.b.c'))).toBe(false);
    expect(n('\\192').equals(n('\\224'))).toBe(false);
    expect(n('.').equals(n('.'))).toBe(true);
  });

  it('isPartOf follows label boundaries and ignores case', () => {
    expect(n('www.Example.com').isPartOf(n('example.COM'))).toBe(true);
    expect(n('example.com').isPartOf(n('example.com'))).toBe(true);
    expect(n('example.com').isPartOf(n('.'))).toBe(true);
    expect(n('.').isPartOf(n('.'))).toBe(true);
    expect(n('.').isPartOf(n('com'))).toBe(false);
    expect(n('xexample.com').isPartOf(n('example.com'))).toBe(false);
    expect(n('example.com').isPartOf(n('www.example.com'))).toBe(false);
    expect(n('a.bc.com').isPartOf(n('c.com'))).toBe(false);
    // A label's content that looks like a length-prefixed suffix must not fool the walk.
    expect(n('a\\003com.x').isPartOf(n('com.x'))).toBe(false);
  });

  it('chopOff walks up to the root, then gives undefined', () => {
    const seen: string[] = [];
    for (let x: DNSName | undefined = n('www.Example.com'); x; x = x.chopOff()) seen.push(x.toString());
    expect(seen).toEqual(['www.Example.com.', 'Example.com.', 'com.', '.']);
    expect(n('com').chopOff()).toBe(DNSName.ROOT);
    expect(DNSName.ROOT.chopOff()).toBeUndefined();
  });

  it('counts labels, measures wire length and lists raw labels', () => {
    expect(n('www.Example.com').countLabels()).toBe(3);
    expect(n('www.Example.com').wirelength()).toBe(17);
    expect(n('www.Example.com').labels()).toEqual(['www', 'Example', 'com']);
    expect(n('\\255.a').labels()).toEqual(['\u00ff', 'a']);
  });

  it('serialises to JSON as its text', () => {
    expect(JSON.stringify({ qname: n('Example.com') })).toBe('{"qname":"Example.com."}');
  });

  it('hands out copies of its wire form', () => {
    const name = n('abc');
    name.toWire().fill(0x41);
    expect(name.toString()).toBe('abc.');
  });
});
