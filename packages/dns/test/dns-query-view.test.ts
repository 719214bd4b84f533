import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { DNSName } from '../src/dns-name.js';
import { HeaderFlag, Opcode } from '../src/dns-header.js';
import { DnsQueryView } from '../src/dns-query-view.js';
import { DnsPacketError } from '../src/errors.js';
import { QType } from '../src/qtype.js';
import { type RecordType, encodeQuery, header, nameArb, presentation, u16, u32, wireName } from './dns-packet-fixtures.js';

/** Every field a parse sets, for comparing two parses. */
function snapshot(v: DnsQueryView): Record<string, unknown> {
  return {
    valid: v.valid,
    error: v.error,
    id: v.id,
    flags: v.flags,
    counts: [v.qdcount, v.ancount, v.nscount, v.arcount],
    qname: v.qname,
    qnameEnd: v.qnameEnd,
    qnameWire: [...v.qnameLower.subarray(0, v.qnameWireLength)],
    qtype: v.qtype,
    qclass: v.qclass,
    questionEnd: v.questionEnd,
    edns: [v.hasEdns, v.ednsUdpPayloadSize, v.ednsDo, v.ednsOffset],
  };
}

describe('DnsQueryView on a plain query', () => {
  it('reads the header, question and lower-cased name', () => {
    const v = new DnsQueryView();
    const pkt = encodeQuery('WWW.Example.COM', 'AAAA', { id: 0xabcd });
    expect(v.parse(pkt)).toBe(true);
    expect(v.valid).toBe(true);
    expect(v.error).toBeUndefined();
    expect(v.id).toBe(0xabcd);
    expect(v.qr).toBe(false);
    expect(v.rd).toBe(true);
    expect(v.qdcount).toBe(1);
    expect([v.ancount, v.nscount, v.arcount]).toEqual([0, 0, 0]);
    expect(v.qname).toBe('www.example.com.');
    expect(v.qnameOffset).toBe(12);
    expect(v.qnameEnd).toBe(12 + 17);
    expect(v.qnameWireLength).toBe(17);
    expect(Buffer.from(v.qnameLower.subarray(0, 17)).toString('latin1')).toBe('\x03www\x07example\x03com\x00');
    expect(v.qtype).toBe(QType.AAAA);
    expect(v.qclass).toBe(1);
    expect(v.questionEnd).toBe(pkt.length);
    expect(v.hasEdns).toBe(false);
    expect(v.ednsOffset).toBe(-1);
    expect(v.ednsUdpPayloadSize).toBe(0);
  });

  it('keeps the original case for qnameAsDNSName', () => {
    const v = new DnsQueryView();
    v.parse(encodeQuery('WWW.Example.COM', 'A'));
    const name = v.qnameAsDNSName();
    expect(name.toString()).toBe('WWW.Example.COM.');
    expect(name.equals(DNSName.fromString('www.example.com'))).toBe(true);
  });

  it('reads the root name as "."', () => {
    const v = new DnsQueryView();
    expect(v.parse(Buffer.from([...header(1, 0, 1, 0, 0, 0), 0, ...u16(QType.NS), ...u16(1)]))).toBe(true);
    expect(v.qname).toBe('.');
    expect(v.qnameWireLength).toBe(1);
    expect(v.qnameEnd).toBe(13);
    expect(v.qnameAsDNSName().isRoot()).toBe(true);
  });

  it('exposes every header bit through its getter', () => {
    const v = new DnsQueryView();
    const bits: [keyof DnsQueryView, number][] = [
      ['qr', HeaderFlag.QR],
      ['aa', HeaderFlag.AA],
      ['tc', HeaderFlag.TC],
      ['rd', HeaderFlag.RD],
      ['ra', HeaderFlag.RA],
      ['ad', HeaderFlag.AD],
      ['cd', HeaderFlag.CD],
    ];
    for (const [, bit] of bits) {
      v.parse(Buffer.from([...header(1, bit, 1, 0, 0, 0), 0, 0, 1, 0, 1]));
      for (const [getter, getterBit] of bits) expect([getter, v[getter]]).toEqual([getter, getterBit === bit]);
    }
    v.parse(Buffer.from([...header(1, (Opcode.Update << 11) | 9, 1, 0, 0, 0), 0, 0, 1, 0, 1]));
    expect(v.opcode).toBe(Opcode.Update);
    expect(v.rcode).toBe(9);
  });

  it('reads only the first of several questions', () => {
    const v = new DnsQueryView();
    const pkt = Buffer.from([
      ...header(7, 0, 2, 0, 0, 0),
      ...wireName(['a', 'b']),
      ...u16(QType.A),
      ...u16(1),
      ...wireName(['c']),
      ...u16(QType.MX),
      ...u16(1),
    ]);
    expect(v.parse(pkt)).toBe(true);
    expect(v.qname).toBe('a.b.');
    expect(v.qtype).toBe(QType.A);
    expect(v.questionEnd).toBe(12 + 5 + 4);
  });

  it('parses only buf[0..length)', () => {
    const v = new DnsQueryView();
    const pkt = encodeQuery('example.com', 'A');
    const big = Buffer.concat([pkt, Buffer.from([1, 2, 3, 4, 5])]);
    expect(v.parse(big, pkt.length)).toBe(true);
    expect(v.length).toBe(pkt.length);
    expect(v.parse(big, pkt.length - 1)).toBe(false);
    expect(v.error).toBe('truncated-question');
  });

  it('treats a length past the buffer as the buffer length, and NaN or negative as 0', () => {
    const v = new DnsQueryView();
    const pkt = encodeQuery('example.com', 'A');
    expect(v.parse(pkt, pkt.length + 100)).toBe(true);
    expect(v.length).toBe(pkt.length);
    expect(v.parse(pkt, Number.NaN)).toBe(false);
    expect(v.error).toBe('short-header');
    expect(v.parse(pkt, -5)).toBe(false);
    expect(v.length).toBe(0);
  });
});

describe('DnsQueryView qname escaping', () => {
  const cases: [string, (string | number[])[]][] = [
    ['a dot inside a label', ['a.b', 'com']],
    ['a backslash', ['a\\b', 'com']],
    ['a space and control bytes', [[0x20, 0x00, 0x7f, 0x41], 'com']],
    ['high bytes', [[0xff, 0xc3, 0xa9], 'Com']],
    ['upper-case letters next to non-letters', [[0x40, 0x41, 0x5a, 0x5b, 0x60, 0x61, 0x7a, 0x7b]]],
  ];
  for (const [what, labels] of cases) {
    it(`escapes ${what} as DNSName.toString() does`, () => {
      const v = new DnsQueryView();
      const wire = wireName(labels);
      expect(v.parse(Buffer.from([...header(1, 0, 1, 0, 0, 0), ...wire, ...u16(1), ...u16(1)]))).toBe(true);
      const expected = DNSName.fromWire(Uint8Array.from(wire)).name.toLowerCase().toString();
      expect(v.qname).toBe(expected);
      // And the text is a name that parses back to the same wire form.
      expect(DNSName.fromString(v.qname).equals(DNSName.fromWire(Uint8Array.from(wire)).name)).toBe(true);
    });
  }

  it('prints "\\." and "\\\\" and \\DDD', () => {
    const v = new DnsQueryView();
    v.parse(Buffer.from([...header(1, 0, 1, 0, 0, 0), ...wireName([[0x61, 0x2e, 0x5c, 0x20, 0xff, 0x41]]), ...u16(1), ...u16(1)]));
    expect(v.qname).toBe('a\\.\\\\\\032\\255a.');
  });
});

describe('DnsQueryView rejects', () => {
  const question = (nameBytes: number[]): Buffer => Buffer.from([...header(1, 0, 1, 0, 0, 0), ...nameBytes, ...u16(1), ...u16(1)]);

  it('a packet shorter than the header', () => {
    const v = new DnsQueryView();
    expect(v.parse(Buffer.alloc(11))).toBe(false);
    expect(v.error).toBe('short-header');
    expect(v.id).toBe(0);
    expect(v.qname).toBe('');
  });

  it('a header with no question, keeping the header fields', () => {
    const v = new DnsQueryView();
    expect(v.parse(Buffer.from(header(0x4242, HeaderFlag.RD, 0, 0, 0, 1)))).toBe(false);
    expect(v.error).toBe('no-question');
    expect(v.id).toBe(0x4242);
    expect(v.rd).toBe(true);
    expect(v.arcount).toBe(1);
  });

  it('a compression pointer in the question name', () => {
    const v = new DnsQueryView();
    expect(v.parse(question([3, 0x77, 0x77, 0x77, 0xc0, 0x0c]))).toBe(false);
    expect(v.error).toBe('bad-name');
    expect(v.parse(question([0xc0, 0x0c]))).toBe(false);
    expect(v.error).toBe('bad-name');
  });

  it('extended label types and labels over 63 bytes', () => {
    const v = new DnsQueryView();
    expect(v.parse(question([0x40, 0]))).toBe(false);
    expect(v.error).toBe('bad-name');
    expect(v.parse(question([64, ...Array<number>(64).fill(0x61), 0]))).toBe(false);
    expect(v.error).toBe('bad-name');
    expect(v.parse(question([63, ...Array<number>(63).fill(0x61), 0]))).toBe(true);
  });

  it('names over 255 wire bytes, accepting exactly 255', () => {
    const v = new DnsQueryView();
    // 3 labels of 63 + 1 of 61: 3*64 + 62 + root = 255 bytes.
    const longest = [...[63, 63, 63].flatMap((n) => [n, ...Array<number>(n).fill(0x61)]), 61, ...Array<number>(61).fill(0x62), 0];
    expect(longest.length).toBe(255);
    expect(v.parse(question(longest))).toBe(true);
    expect(v.qnameWireLength).toBe(255);
    expect(v.qname.length).toBe(255 - 1);
    const tooLong = [...[63, 63, 63].flatMap((n) => [n, ...Array<number>(n).fill(0x61)]), 62, ...Array<number>(62).fill(0x62), 0];
    expect(v.parse(question(tooLong))).toBe(false);
    expect(v.error).toBe('bad-name');
  });

  it('truncation at every offset, without throwing', () => {
    const v = new DnsQueryView();
    const pkt = encodeQuery('www.example.com', 'A', { edns: 4096 });
    const questionEnd = 12 + 17 + 4;
    for (let len = 0; len < pkt.length; len++) {
      const ok = v.parse(pkt.subarray(0, len));
      if (len < 12) expect([len, v.error]).toEqual([len, 'short-header']);
      else if (len < questionEnd) expect([len, v.error]).toEqual([len, 'truncated-question']);
      expect([len, ok]).toEqual([len, len >= questionEnd]);
      // A cut-off OPT record is no EDNS; the question still stands.
      if (ok) expect([len, v.hasEdns]).toEqual([len, false]);
    }
    expect(v.parse(pkt)).toBe(true);
    expect(v.hasEdns).toBe(true);
  });

  it('throws a typed error from qnameAsDNSName after a failed parse', () => {
    const v = new DnsQueryView();
    v.parse(Buffer.alloc(4));
    expect(() => v.qnameAsDNSName()).toThrow(DnsPacketError);
    expect(() => v.qnameAsDNSName()).toThrow(/short-header/);
  });
});

describe('DnsQueryView EDNS', () => {
  it('finds the OPT record, its payload size and DO bit', () => {
    const v = new DnsQueryView();
    const pkt = encodeQuery('example.com', 'A', { edns: 1232, ednsDo: true });
    expect(v.parse(pkt)).toBe(true);
    expect(v.hasEdns).toBe(true);
    expect(v.ednsUdpPayloadSize).toBe(1232);
    expect(v.ednsDo).toBe(true);
    expect(v.ednsOffset).toBe(v.questionEnd);
    expect(pkt[v.ednsOffset]).toBe(0);
  });

  it('reads DO=0', () => {
    const v = new DnsQueryView();
    v.parse(encodeQuery('example.com', 'A', { edns: 4096 }));
    expect([v.hasEdns, v.ednsUdpPayloadSize, v.ednsDo]).toEqual([true, 4096, false]);
  });

  it('walks answer and authority records with compressed names to reach the OPT record', () => {
    const v = new DnsQueryView();
    const pkt = Buffer.from([
      ...header(1, 0, 1, 1, 1, 2),
      ...wireName(['example', 'com']),
      ...u16(QType.A),
      ...u16(1),
      // answer: pointer owner, A record
      0xc0,
      12,
      ...u16(QType.A),
      ...u16(1),
      ...u32(60),
      ...u16(4),
      192,
      0,
      2,
      1,
      // authority: "ns" + pointer, NS record with compressed data
      2,
      0x6e,
      0x73,
      0xc0,
      12,
      ...u16(QType.NS),
      ...u16(1),
      ...u32(60),
      ...u16(2),
      0xc0,
      12,
      // additional 1: an A record (not OPT)
      0xc0,
      12,
      ...u16(QType.A),
      ...u16(1),
      ...u32(60),
      ...u16(4),
      10,
      0,
      0,
      1,
      // additional 2: OPT
      0,
      ...u16(QType.OPT),
      ...u16(1400),
      0,
      0,
      0x80,
      0,
      ...u16(0),
    ]);
    expect(v.parse(pkt)).toBe(true);
    expect(v.hasEdns).toBe(true);
    expect(v.ednsUdpPayloadSize).toBe(1400);
    expect(v.ednsDo).toBe(true);
    expect(v.ednsOffset).toBe(pkt.length - 11);
  });

  it('does not count an OPT record outside the additional section', () => {
    const v = new DnsQueryView();
    const opt = [0, ...u16(QType.OPT), ...u16(1400), 0, 0, 0, 0, ...u16(0)];
    const pkt = Buffer.from([
      ...header(1, 0, 1, 1, 0, 1),
      ...wireName(['a']),
      ...u16(1),
      ...u16(1),
      ...opt,
      ...wireName(['b']),
      ...u16(1),
      ...u16(1),
      ...u32(1),
      ...u16(0),
    ]);
    expect(v.parse(pkt)).toBe(true);
    expect(v.hasEdns).toBe(false);
  });

  it('reports no EDNS when ARCOUNT is 0 even if OPT bytes follow', () => {
    const v = new DnsQueryView();
    const withOpt = encodeQuery('example.com', 'A', { edns: 4096 });
    withOpt[11] = 0;
    expect(v.parse(withOpt)).toBe(true);
    expect(v.hasEdns).toBe(false);
  });

  it('reports no EDNS when the additional section has no OPT record', () => {
    const v = new DnsQueryView();
    const pkt = Buffer.from([
      ...header(1, 0, 1, 0, 0, 1),
      ...wireName(['a']),
      ...u16(1),
      ...u16(1),
      ...wireName(['k']),
      ...u16(QType.TSIG),
      ...u16(255),
      ...u32(0),
      ...u16(0),
    ]);
    expect(v.parse(pkt)).toBe(true);
    expect(v.hasEdns).toBe(false);
  });

  it('stays valid with no EDNS when a record before the OPT is malformed', () => {
    const v = new DnsQueryView();
    const pkt = Buffer.from([
      ...header(1, 0, 1, 1, 0, 1),
      ...wireName(['a']),
      ...u16(1),
      ...u16(1),
      0x80,
      0,
      ...u16(1),
      ...u16(1),
      ...u32(0),
      ...u16(0),
    ]);
    expect(v.parse(pkt)).toBe(true);
    expect(v.hasEdns).toBe(false);
  });

  it('needs the whole OPT record, options included, inside the packet', () => {
    const v = new DnsQueryView();
    const cookie = [...u16(10), ...u16(8), 1, 2, 3, 4, 5, 6, 7, 8];
    const pkt = Buffer.from([
      ...header(1, 0, 1, 0, 0, 1),
      ...wireName(['a']),
      ...u16(1),
      ...u16(1),
      0,
      ...u16(QType.OPT),
      ...u16(1232),
      0,
      0,
      0,
      0,
      ...u16(cookie.length),
      ...cookie,
    ]);
    expect(v.parse(pkt)).toBe(true);
    expect(v.hasEdns).toBe(true);
    for (let len = v.questionEnd; len < pkt.length; len++) {
      expect(v.parse(pkt, len)).toBe(true);
      expect([len, v.hasEdns]).toEqual([len, false]);
    }
  });

  it('clears EDNS facts from the previous packet', () => {
    const v = new DnsQueryView();
    v.parse(encodeQuery('example.com', 'A', { edns: 4096, ednsDo: true }));
    v.parse(encodeQuery('example.com', 'A'));
    expect([v.hasEdns, v.ednsUdpPayloadSize, v.ednsDo, v.ednsOffset]).toEqual([false, 0, false, -1]);
  });
});

describe('DnsQueryView reuse', () => {
  it('gives the right name when names repeat, change and fail in between', () => {
    const v = new DnsQueryView();
    const a = encodeQuery('Alpha.example', 'A');
    const b = encodeQuery('alpha.example.net', 'A');
    const c = encodeQuery('alpha.exampl', 'A');
    const broken = Buffer.from(a.subarray(0, 20));
    const sequence: [Buffer, string][] = [
      [a, 'alpha.example.'],
      [a, 'alpha.example.'],
      [b, 'alpha.example.net.'],
      [a, 'alpha.example.'],
      [c, 'alpha.exampl.'],
      [broken, ''],
      [a, 'alpha.example.'],
      [encodeQuery('ALPHA.EXAMPLE', 'A'), 'alpha.example.'],
      [Buffer.from([...header(1, 0, 1, 0, 0, 0), 0, 0, 1, 0, 1]), '.'],
      [a, 'alpha.example.'],
    ];
    for (const [pkt, expected] of sequence) {
      v.parse(pkt);
      expect(v.qname).toBe(expected);
    }
  });

  it('does not reuse the string after a failed parse left part of another name behind', () => {
    const v = new DnsQueryView();
    const q = (labels: string[], cut?: number): Buffer => {
      const full = Buffer.from([...header(1, 0, 1, 0, 0, 0), ...wireName(labels), ...u16(1), ...u16(1)]);
      return cut === undefined ? full : full.subarray(0, cut);
    };
    v.parse(q(['a', 'b']));
    expect(v.qname).toBe('a.b.');
    // Cut inside the second label: the first label "c" was already copied over "a".
    expect(v.parse(q(['c', 'b'], 12 + 3))).toBe(false);
    v.parse(q(['c', 'b']));
    expect(v.qname).toBe('c.b.');
  });

  it('reuses the string when the name repeats, ignoring case', () => {
    const v = new DnsQueryView();
    v.parse(encodeQuery('www.example.com', 'A'));
    const first = v.qname;
    v.parse(encodeQuery('WWW.example.com', 'AAAA'));
    expect(v.qname).toBe(first);
    expect(v.qtype).toBe(QType.AAAA);
  });

  it('gives the same fields whatever was parsed before', () => {
    const packets = fc.oneof(
      fc
        .tuple(nameArb, fc.constantFrom<RecordType>('A', 'AAAA', 'MX', 'TXT'), fc.boolean())
        .map(([n, t, e]) => encodeQuery(n, t, e ? { edns: 1232 } : {})),
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(packets, packets, (first, second) => {
        const fresh = new DnsQueryView();
        fresh.parse(second);
        const reused = new DnsQueryView();
        reused.parse(first);
        reused.parse(second);
        expect(snapshot(reused)).toEqual(snapshot(fresh));
      }),
    );
  });
});

describe('DnsQueryView properties', () => {
  it('never throws on random bytes', () => {
    const v = new DnsQueryView();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const ok = v.parse(bytes);
        expect(ok).toBe(v.valid);
        expect(ok ? v.error : typeof v.error).toBe(ok ? undefined : 'string');
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on mutated valid queries, and never looks at bytes past length', () => {
    const base = fc.tuple(nameArb, fc.constantFrom<RecordType>('A', 'AAAA', 'ANY', 'SOA'), fc.option(fc.integer({ min: 0, max: 65535 })));
    const mutated = base.chain(([name, type, edns]) => {
      const pkt = encodeQuery(name, type, edns === null ? {} : { edns });
      return fc
        .tuple(
          fc.array(fc.tuple(fc.nat(pkt.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
          fc.nat(pkt.length),
          fc.uint8Array({ minLength: 1, maxLength: 32 }),
        )
        .map(([edits, cut, garbage]) => {
          const copy = Buffer.from(pkt);
          for (const [at, value] of edits) copy[at] = value;
          return { exact: copy.subarray(0, cut), padded: Buffer.concat([copy.subarray(0, cut), garbage]) };
        });
    });
    fc.assert(
      fc.property(mutated, ({ exact, padded }) => {
        const a = new DnsQueryView();
        const b = new DnsQueryView();
        a.parse(Buffer.from(exact));
        b.parse(padded, exact.length);
        expect(snapshot(b)).toEqual(snapshot(a));
      }),
      { numRuns: 1000 },
    );
  });

  it('never reads at or past length', () => {
    /** A view of `bytes` that throws when anything reads an index at or past `limit`. */
    const guarded = (bytes: Uint8Array, limit: number): Uint8Array =>
      new Proxy(bytes, {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^[0-9]+$/.test(key) && Number(key) >= limit) {
            throw new Error(`read index ${key} at or past length ${limit}`);
          }
          const value: unknown = Reflect.get(target, key, receiver === undefined ? target : target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    const v = new DnsQueryView();
    const packets = fc.tuple(nameArb, fc.option(fc.integer({ min: 0, max: 65535 })), fc.uint8Array({ minLength: 8, maxLength: 8 }));
    fc.assert(
      fc.property(packets, fc.nat(), ([name, edns, tail], cutSeed) => {
        const pkt = Buffer.concat([encodeQuery(name, 'A', edns === null ? {} : { edns }), Buffer.from(tail)]);
        const cut = cutSeed % (pkt.length + 1);
        v.parse(guarded(pkt, cut), cut);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with dns-packet on random valid queries', () => {
    const v = new DnsQueryView();
    const queries = fc.record({
      id: fc.integer({ min: 0, max: 0xffff }),
      // dns-packet's flags word: everything but QR (opcode 0 so it decodes).
      flags: fc.integer({ min: 0, max: 0x07ff }),
      name: nameArb,
      type: fc.constantFrom<RecordType>('A', 'AAAA', 'MX', 'TXT', 'SRV', 'PTR', 'ANY', 'CAA', 'DS'),
      qclass: fc.constantFrom<'IN' | 'CH' | 'HS' | 'ANY'>('IN', 'CH', 'HS', 'ANY'),
      edns: fc.option(fc.integer({ min: 0, max: 0xffff })),
      ednsDo: fc.boolean(),
    });
    fc.assert(
      fc.property(queries, (q) => {
        const pkt = encodeQuery(q.name, q.type, {
          id: q.id,
          flags: q.flags,
          qclass: q.qclass,
          ...(q.edns === null ? {} : { edns: q.edns, ednsDo: q.ednsDo }),
        });
        const decoded = dnsPacket.decode(pkt);
        expect(v.parse(pkt)).toBe(true);
        expect(v.id).toBe(decoded.id);
        expect(v.flags).toBe(decoded.flags);
        expect(v.rd).toBe(decoded.flag_rd);
        expect(v.cd).toBe(decoded.flag_cd);
        const question = decoded.questions![0]!;
        expect(v.qname).toBe(presentation(question.name));
        expect(v.qtype).toBe(QType[question.type as keyof typeof QType]);
        expect(v.qclass).toBe({ IN: 1, CH: 3, HS: 4, ANY: 255 }[question.class as string]);
        const opt = decoded.additionals?.find((r): r is dnsPacket.OptAnswer => r.type === 'OPT');
        expect(v.hasEdns).toBe(opt !== undefined);
        expect(v.ednsUdpPayloadSize).toBe(opt?.udpPayloadSize ?? 0);
        expect(v.ednsDo).toBe(opt?.flag_do ?? false);
      }),
      { numRuns: 500 },
    );
  });
});
