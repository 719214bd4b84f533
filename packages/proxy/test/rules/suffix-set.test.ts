import { DNSName, DnsQueryView, SuffixMatchNode } from '@dnsdist-ts/dns';
import fc from 'fast-check';
import { SuffixSet } from '@dnsdist-ts/dataplane/rules/index.js';

/** The lower-cased qname text the packet view produces for `name`. */
function viewText(name: DNSName): string {
  const wire = name.toWire();
  const packet = Buffer.alloc(12 + wire.length + 4);
  packet.writeUInt16BE(1, 4);
  wire.copy(packet, 12);
  packet.writeUInt16BE(1, 12 + wire.length);
  packet.writeUInt16BE(1, 14 + wire.length);
  const view = new DnsQueryView();
  if (!view.parse(packet)) throw new Error(view.error);
  return view.qname;
}

// Labels from a small alphabet (with dots and backslashes, which need escaping) so suffixes collide often.
const labelArb = fc
  .array(fc.constantFrom('a', 'B', 'c', '.', '\\', '-', '\u00e9'), { minLength: 1, maxLength: 3 })
  .map((chars) => chars.join(''));
const nameArb = fc.array(labelArb, { minLength: 0, maxLength: 4 }).map((labels) => {
  const escaped = labels.map((l) => l.replace(/[\\.]/g, (c) => `\\${c}`));
  return DNSName.fromString(escaped.length === 0 ? '.' : `${escaped.join('.')}.`);
});

describe('SuffixSet', () => {
  it('matches names equal to or below a domain, at label boundaries only', () => {
    const set = new SuffixSet(['example.com', 'a\\.b.org.']);
    expect(set.size).toBe(2);
    expect(set.matches('example.com.')).toBe(true);
    expect(set.matches('www.example.com.')).toBe(true);
    expect(set.matches('wwwexample.com.')).toBe(false);
    expect(set.matches('com.')).toBe(false);
    expect(set.matches('.')).toBe(false);
    expect(set.matches('x.a\\.b.org.')).toBe(true);
    // "b.org." is a suffix of the text but not of the name: "a\.b" is one label.
    expect(new SuffixSet(['b.org']).matches('a\\.b.org.')).toBe(false);
    expect(new SuffixSet(['b.org']).matches('a\\\\.b.org.')).toBe(true);
  });

  it('matches everything once the root is added, and nothing when empty', () => {
    expect(new SuffixSet(['.']).matches('anything.example.')).toBe(true);
    expect(new SuffixSet([]).matches('anything.example.')).toBe(false);
  });

  it('counts a domain added twice in different case once', () => {
    const set = new SuffixSet(['Example.com', 'example.COM.']);
    expect(set.size).toBe(1);
  });

  it('agrees with SuffixMatchNode.check on random names', () => {
    fc.assert(
      fc.property(fc.array(nameArb, { maxLength: 6 }), nameArb, (domains, qname) => {
        const smn = SuffixMatchNode.from(domains);
        const set = new SuffixSet(domains);
        expect(set.matches(viewText(qname))).toBe(smn.check(qname));
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with SuffixMatchNode.check for names built from the domains', () => {
    fc.assert(
      fc.property(
        fc.array(nameArb, { minLength: 1, maxLength: 4 }),
        fc.array(labelArb, { maxLength: 2 }),
        fc.nat(),
        (domains, prefix, pick) => {
          const base = domains[pick % domains.length]!;
          const escaped = prefix.map((l) => l.replace(/[\\.]/g, (c) => `\\${c}`));
          const text = escaped.length === 0 ? base.toString() : `${escaped.join('.')}.${base.isRoot() ? '' : base.toString()}`;
          const qname = DNSName.fromString(text);
          expect(new SuffixSet(domains).matches(viewText(qname))).toBe(SuffixMatchNode.from(domains).check(qname));
        },
      ),
      { numRuns: 300 },
    );
  });
});
