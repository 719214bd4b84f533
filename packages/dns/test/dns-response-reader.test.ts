import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { HeaderFlag, Rcode } from '../src/dns-header.js';
import { DnsQueryView } from '../src/dns-query-view.js';
import { createResponseSummary, decreaseTtls, questionMatches, readResponseSummary } from '../src/dns-response-reader.js';
import { QType } from '../src/qtype.js';
import { encodeQuery, header, nameArb, u16, u32, wireName } from './dns-packet-fixtures.js';

const soa = (ttl: number, minimum: number): dnsPacket.Answer => ({
  type: 'SOA',
  name: 'example.com',
  ttl,
  data: { mname: 'ns1.example.com', rname: 'hostmaster.example.com', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum },
});

function response(parts: {
  rcode?: number;
  question?: string;
  answers?: dnsPacket.Answer[];
  authorities?: dnsPacket.Answer[];
  additionals?: dnsPacket.Answer[];
}): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 0x7777,
    flags: HeaderFlag.RD | HeaderFlag.RA | (parts.rcode ?? 0),
    questions: [{ name: parts.question ?? 'www.example.com', type: 'A', class: 'IN' }],
    answers: parts.answers ?? [],
    authorities: parts.authorities ?? [],
    additionals: parts.additionals ?? [],
  });
}

const opt = { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as dnsPacket.Answer;
const a = (name: string, ttl: number, ip = '192.0.2.1'): dnsPacket.Answer => ({ type: 'A', name, ttl, data: ip });

function viewOf(pkt: Uint8Array): DnsQueryView {
  const v = new DnsQueryView();
  if (!v.parse(pkt)) throw new Error(`test query did not parse: ${v.error}`);
  return v;
}

describe('readResponseSummary', () => {
  it('reads the header and the lowest TTL of answers and authority', () => {
    const pkt = response({
      answers: [{ type: 'CNAME', name: 'www.example.com', ttl: 300, data: 'x.example.net' }, a('x.example.net', 120)],
      authorities: [{ type: 'NS', name: 'example.net', ttl: 90, data: 'ns.example.net' }],
      additionals: [a('ns.example.net', 5), opt],
    });
    const s = readResponseSummary(pkt, pkt.length);
    expect(s).toEqual({
      valid: true,
      id: 0x7777,
      flags: HeaderFlag.QR | HeaderFlag.RD | HeaderFlag.RA,
      rcode: 0,
      qdcount: 1,
      ancount: 2,
      nscount: 1,
      arcount: 2,
      questionEnd: 12 + 17 + 4,
      minTtl: 90,
      hasSoaInAuthority: false,
    });
  });

  it('gives -1 when there are no answer or authority records', () => {
    const pkt = response({ rcode: Rcode.ServFail, additionals: [opt] });
    const s = readResponseSummary(pkt, pkt.length);
    expect([s.valid, s.rcode, s.minTtl]).toEqual([true, Rcode.ServFail, -1]);
  });

  it('caps a negative answer by the SOA MINIMUM (NXDOMAIN and NODATA)', () => {
    const nx = response({ rcode: Rcode.NXDomain, authorities: [soa(3600, 300)] });
    expect(readResponseSummary(nx, nx.length)).toMatchObject({ valid: true, rcode: Rcode.NXDomain, minTtl: 300, hasSoaInAuthority: true });
    const nodata = response({ authorities: [soa(3600, 300)] });
    expect(readResponseSummary(nodata, nodata.length)).toMatchObject({ minTtl: 300, hasSoaInAuthority: true });
  });

  it('uses the SOA TTL when it is below MINIMUM', () => {
    const nx = response({ rcode: Rcode.NXDomain, authorities: [soa(30, 300)] });
    expect(readResponseSummary(nx, nx.length).minTtl).toBe(30);
  });

  it('ignores SOA MINIMUM in a positive answer', () => {
    const pkt = response({ answers: [a('www.example.com', 600)], authorities: [soa(3600, 300)] });
    expect(readResponseSummary(pkt, pkt.length)).toMatchObject({ minTtl: 600, hasSoaInAuthority: true });
  });

  it('only counts an SOA of class IN in the authority section as hasSoaInAuthority', () => {
    const inAnswer = response({ answers: [soa(3600, 300)] });
    expect(readResponseSummary(inAnswer, inAnswer.length).hasSoaInAuthority).toBe(false);
    const chaos = response({ rcode: Rcode.NXDomain, authorities: [{ ...soa(3600, 300), class: 'CH' } as dnsPacket.Answer] });
    expect(readResponseSummary(chaos, chaos.length)).toMatchObject({ valid: true, hasSoaInAuthority: false, minTtl: 300 });
  });

  it('walks compressed names', () => {
    // www.example.com at 12; "example.com" starts at 16.
    const pkt = Buffer.from([
      ...header(9, 0x8180 | Rcode.NXDomain, 1, 1, 1, 0),
      ...wireName(['www', 'example', 'com']),
      ...u16(QType.A),
      ...u16(1),
      // answer: owner and CNAME target both compressed
      0xc0,
      12,
      ...u16(QType.CNAME),
      ...u16(1),
      ...u32(500),
      ...u16(6),
      3,
      0x66,
      0x6f,
      0x6f,
      0xc0,
      16,
      // authority: SOA owned by example.com (pointer), mname/rname pointers, then 5 numbers
      0xc0,
      16,
      ...u16(QType.SOA),
      ...u16(1),
      ...u32(900),
      ...u16(4 + 20),
      0xc0,
      12,
      0xc0,
      16,
      ...u32(1),
      ...u32(3600),
      ...u32(600),
      ...u32(86400),
      ...u32(120),
    ]);
    expect(readResponseSummary(pkt, pkt.length)).toMatchObject({
      valid: true,
      ancount: 1,
      nscount: 1,
      minTtl: 120,
      hasSoaInAuthority: true,
    });
    expect(dnsPacket.decode(pkt).authorities![0]!.type).toBe('SOA');
    expect(decreaseTtls(pkt, pkt.length, 100)).toBe(true);
    expect(dnsPacket.decode(pkt).answers!.map((r) => (r as { ttl: number }).ttl)).toEqual([400]);
    expect(dnsPacket.decode(pkt).authorities!.map((r) => (r as { ttl: number }).ttl)).toEqual([800]);
  });

  it('reads TTLs with the top bit set as unsigned', () => {
    const pkt = response({ answers: [a('www.example.com', 0x80000000)] });
    expect(readResponseSummary(pkt, pkt.length).minTtl).toBe(0x80000000);
  });

  it('is invalid, with no TTL facts, when truncated at any offset', () => {
    const pkt = response({ rcode: Rcode.NXDomain, answers: [a('www.example.com', 40)], authorities: [soa(100, 10)], additionals: [opt] });
    const out = createResponseSummary();
    for (let len = 0; len < pkt.length; len++) {
      const s = readResponseSummary(pkt, len, out);
      expect([len, s.valid, s.minTtl, s.hasSoaInAuthority]).toEqual([len, false, -1, false]);
      expect(s.id).toBe(len >= 12 ? 0x7777 : 0);
    }
    expect(readResponseSummary(pkt, pkt.length, out).valid).toBe(true);
  });

  it('accepts bytes after the last record', () => {
    const pkt = Buffer.concat([response({ answers: [a('www.example.com', 40)] }), Buffer.from([1, 2, 3])]);
    expect(readResponseSummary(pkt, pkt.length)).toMatchObject({ valid: true, minTtl: 40 });
  });

  it('fills and returns the summary it is given', () => {
    const out = createResponseSummary();
    const pkt = response({ answers: [a('www.example.com', 40)] });
    expect(readResponseSummary(pkt, pkt.length, out)).toBe(out);
    expect(out.minTtl).toBe(40);
    readResponseSummary(new Uint8Array(5), 5, out);
    expect(out).toEqual(createResponseSummary());
  });

  it('never throws, and is deterministic, on random and mutated packets', () => {
    const base = response({ rcode: Rcode.NXDomain, answers: [a('www.example.com', 40)], authorities: [soa(100, 10)], additionals: [opt] });
    const packets = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }).map((edits) => {
        const copy = Uint8Array.from(base);
        for (const [at, value] of edits) copy[at] = value;
        return copy;
      }),
    );
    fc.assert(
      fc.property(packets, fc.nat(), (pkt, cut) => {
        const len = cut % (pkt.length + 1);
        const s = readResponseSummary(pkt, len);
        // The same bytes with garbage after length give the same summary.
        const padded = Uint8Array.from([...pkt.subarray(0, len), 0xc0, 0x0c, 0xff]);
        expect(readResponseSummary(padded, len)).toEqual(s);
        if (!s.valid) expect([s.minTtl, s.hasSoaInAuthority]).toEqual([-1, false]);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('decreaseTtls', () => {
  it('lowers every TTL but the OPT record, stopping at 0', () => {
    const pkt = response({
      answers: [a('www.example.com', 300), a('www.example.com', 20, '192.0.2.2')],
      authorities: [soa(100, 10)],
      // DO set: the OPT "TTL" field is 0x00008000, which aging would visibly change.
      additionals: [a('ns.example.com', 50), { ...opt, flags: dnsPacket.DNSSEC_OK } as dnsPacket.Answer],
    });
    const optBefore = Buffer.from(pkt.subarray(pkt.length - 11));
    expect(decreaseTtls(pkt, pkt.length, 30)).toBe(true);
    const decoded = dnsPacket.decode(pkt);
    expect(decoded.answers!.map((r) => (r as { ttl: number }).ttl)).toEqual([270, 0]);
    expect(decoded.authorities!.map((r) => (r as { ttl: number }).ttl)).toEqual([70]);
    expect(decoded.additionals!.filter((r) => r.type !== 'OPT').map((r) => (r as { ttl: number }).ttl)).toEqual([20]);
    expect(Buffer.compare(pkt.subarray(pkt.length - 11), optBefore)).toBe(0);
    expect((decoded.additionals!.find((r) => r.type === 'OPT') as dnsPacket.OptAnswer).flag_do).toBe(true);
  });

  it('leaves a packet it cannot walk untouched and returns false', () => {
    const pkt = response({ answers: [a('www.example.com', 300), a('www.example.com', 200)] });
    for (let len = 0; len < pkt.length; len++) {
      const copy = Buffer.from(pkt);
      expect([len, decreaseTtls(copy, len, 10)]).toEqual([len, false]);
      expect(Buffer.compare(copy, pkt)).toBe(0);
    }
  });

  it('changes nothing for 0 or negative seconds, but still checks the packet', () => {
    const pkt = response({ answers: [a('www.example.com', 300)] });
    const before = Buffer.from(pkt);
    expect(decreaseTtls(pkt, pkt.length, 0)).toBe(true);
    expect(decreaseTtls(pkt, pkt.length, -5)).toBe(true);
    expect(Buffer.compare(pkt, before)).toBe(0);
    expect(decreaseTtls(pkt, 20, 0)).toBe(false);
  });

  it('ages each TTL to max(0, ttl - seconds) for random responses', () => {
    const cases = fc.record({
      ttls: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 6 }),
      seconds: fc.integer({ min: 0, max: 0xffffffff }),
      name: nameArb,
    });
    fc.assert(
      fc.property(cases, ({ ttls, seconds, name }) => {
        const pkt = response({ question: name, answers: ttls.map((ttl, i) => a(name, ttl, `192.0.2.${i}`)), additionals: [opt] });
        expect(decreaseTtls(pkt, pkt.length, seconds)).toBe(true);
        const decoded = dnsPacket.decode(pkt);
        expect(decoded.answers!.map((r) => (r as { ttl: number }).ttl)).toEqual(ttls.map((t) => Math.max(0, t - seconds)));
        expect((decoded.additionals![0] as dnsPacket.OptAnswer).udpPayloadSize).toBe(1232);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 1000 }), (bytes, seconds) => {
        expect(typeof decreaseTtls(bytes, bytes.length, seconds)).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('questionMatches', () => {
  const query = viewOf(encodeQuery('WWW.Example.com', 'A', { edns: 1232 }));

  it('matches ignoring case', () => {
    const pkt = response({ question: 'www.EXAMPLE.COM', answers: [a('www.example.com', 1)] });
    expect(questionMatches(pkt, pkt.length, query)).toBe(true);
  });

  it('does not match another name, type or class', () => {
    const other = response({ question: 'www.example.org' });
    expect(questionMatches(other, other.length, query)).toBe(false);
    const prefix = response({ question: 'www.example' });
    expect(questionMatches(prefix, prefix.length, query)).toBe(false);
    const longer = response({ question: 'www.example.com.evil' });
    expect(questionMatches(longer, longer.length, query)).toBe(false);
    const aaaa = Buffer.from(response({}));
    aaaa.writeUInt16BE(QType.AAAA, 12 + 17);
    expect(questionMatches(aaaa, aaaa.length, query)).toBe(false);
    const chaos = Buffer.from(response({}));
    chaos.writeUInt16BE(3, 12 + 17 + 2);
    expect(questionMatches(chaos, chaos.length, query)).toBe(false);
  });

  it('does not match a compressed question name, an empty question section or a cut-off question', () => {
    const compressed = Buffer.from([...header(1, 0x8180, 1, 0, 0, 0), 3, 0x77, 0x77, 0x77, 0xc0, 20, ...u16(1), ...u16(1)]);
    expect(questionMatches(compressed, compressed.length, query)).toBe(false);
    const empty = Buffer.from([
      ...header(1, 0x8180 | Rcode.ServFail, 0, 0, 0, 0),
      ...wireName(['www', 'example', 'com']),
      ...u16(1),
      ...u16(1),
    ]);
    expect(questionMatches(empty, empty.length, query)).toBe(false);
    const pkt = response({});
    for (let len = 0; len < 12 + 17 + 4; len++) expect([len, questionMatches(pkt, len, query)]).toEqual([len, false]);
    expect(questionMatches(pkt, 12 + 17 + 4, query)).toBe(true);
  });

  it('is false for a query view that did not parse', () => {
    const broken = new DnsQueryView();
    broken.parse(new Uint8Array(2));
    const pkt = response({});
    expect(questionMatches(pkt, pkt.length, broken)).toBe(false);
  });

  it('keeps matching after the query buffer is reused for the response', () => {
    const buf = Buffer.alloc(512);
    const q = encodeQuery('cache.example', 'TXT');
    q.copy(buf);
    const view = viewOf(buf.subarray(0, q.length));
    const reply = dnsPacket.encode({ type: 'response', id: 1, questions: [{ name: 'other.example', type: 'TXT', class: 'IN' }] });
    reply.copy(buf);
    expect(questionMatches(buf, reply.length, view)).toBe(false);
    const right = dnsPacket.encode({ type: 'response', id: 1, questions: [{ name: 'CACHE.example', type: 'TXT', class: 'IN' }] });
    right.copy(buf);
    expect(questionMatches(buf, right.length, view)).toBe(true);
  });
});
