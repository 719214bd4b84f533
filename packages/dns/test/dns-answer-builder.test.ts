import dgram from 'node:dgram';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import {
  DEFAULT_SELF_GENERATED_PAYLOAD_SIZE,
  buildSpoofedAnswer,
  makeRcodeResponse,
  makeTruncatedResponse,
  spoofAnswerApplies,
  replaceSelfGeneratedOpt,
  stripTruncatedAnswer,
} from '../src/dns-answer-builder.js';
import { DNSName } from '../src/dns-name.js';
import { HeaderFlag, Rcode, readFlags, writeFlags } from '../src/dns-header.js';
import { DnsQueryView } from '../src/dns-query-view.js';
import { AddressParseError, DnsPacketError } from '../src/errors.js';
import { parseAddress } from '../src/ip-address.js';
import { QType } from '../src/qtype.js';
import { type RecordType, dataOf, decode, encodeQuery, header, nameArb, presentation, u16 } from './dns-packet-fixtures.js';

const v4a = parseAddress('192.0.2.1').bytes;
const v4b = parseAddress('192.0.2.2').bytes;
const v6a = parseAddress('2001:db8::1').bytes;
const v6b = parseAddress('2001:db8::2').bytes;

function viewOf(pkt: Uint8Array): DnsQueryView {
  const v = new DnsQueryView();
  if (!v.parse(pkt)) throw new Error(`test query did not parse: ${v.error}`);
  return v;
}

const flagsOf = (pkt: Uint8Array): number => readFlags(pkt);

describe('makeRcodeResponse', () => {
  it('turns a query into a response in place, keeping ID, question and OPT', () => {
    const pkt = encodeQuery('Blocked.Example', 'A', { id: 4321, edns: 4096, ednsDo: true });
    const before = Buffer.from(pkt);
    expect(makeRcodeResponse(pkt, pkt.length, Rcode.NXDomain)).toBe(pkt.length);
    const decoded = decode(pkt);
    expect(decoded.type).toBe('response');
    expect(decoded.id).toBe(4321);
    expect(decoded.rcode).toBe('NXDOMAIN');
    expect(decoded.questions).toEqual([{ name: 'Blocked.Example', type: 'A', class: 'IN' }]);
    expect(decoded.additionals).toHaveLength(1);
    expect((decoded.additionals![0] as dnsPacket.OptAnswer).udpPayloadSize).toBe(4096);
    // Only the flags word changed.
    expect(Buffer.compare(pkt.subarray(4), before.subarray(4))).toBe(0);
    expect(Buffer.compare(pkt.subarray(0, 2), before.subarray(0, 2))).toBe(0);
  });

  it('copies RD into RA, clears AD and leaves AA alone by default', () => {
    const rd = encodeQuery('a.example', 'A', { flags: HeaderFlag.RD | HeaderFlag.AD });
    makeRcodeResponse(rd, rd.length, Rcode.Refused);
    expect(flagsOf(rd)).toBe(HeaderFlag.QR | HeaderFlag.RD | HeaderFlag.RA | Rcode.Refused);

    const noRd = encodeQuery('a.example', 'A', { flags: HeaderFlag.AA | HeaderFlag.RA });
    makeRcodeResponse(noRd, noRd.length, Rcode.ServFail);
    expect(flagsOf(noRd)).toBe(HeaderFlag.QR | HeaderFlag.AA | Rcode.ServFail);
  });

  it('sets AA, AD and RA as the options say', () => {
    const pkt = encodeQuery('a.example', 'A', { flags: HeaderFlag.RD });
    makeRcodeResponse(pkt, pkt.length, Rcode.NXDomain, { aa: true, ad: true, ra: false });
    expect(flagsOf(pkt)).toBe(HeaderFlag.QR | HeaderFlag.AA | HeaderFlag.AD | HeaderFlag.RD | Rcode.NXDomain);
    makeRcodeResponse(pkt, pkt.length, Rcode.NoError, { aa: false, ra: true });
    expect(flagsOf(pkt)).toBe(HeaderFlag.QR | HeaderFlag.RD | HeaderFlag.RA);
  });

  it('keeps the opcode and replaces an earlier RCODE', () => {
    const pkt = Buffer.from([...header(1, (5 << 11) | 0x000f, 1, 0, 0, 0), 0, ...u16(6), ...u16(1)]);
    makeRcodeResponse(pkt, pkt.length, Rcode.NotImp);
    expect(flagsOf(pkt)).toBe(HeaderFlag.QR | (5 << 11) | Rcode.NotImp);
  });

  it('can reproduce dnsdist dynamic blocks, which only set QR and RCODE', () => {
    const pkt = encodeQuery('a.example', 'A', { flags: HeaderFlag.RD | HeaderFlag.AD | HeaderFlag.CD });
    const v = viewOf(pkt);
    makeRcodeResponse(pkt, pkt.length, Rcode.Refused, { aa: v.aa, ad: v.ad, ra: v.ra });
    expect(flagsOf(pkt)).toBe(v.flags | HeaderFlag.QR | Rcode.Refused);
  });

  it('rejects RCODEs that do not fit the header and packets without a header', () => {
    const pkt = encodeQuery('a.example', 'A');
    expect(() => makeRcodeResponse(pkt, pkt.length, 16)).toThrow(DnsPacketError);
    expect(() => makeRcodeResponse(pkt, pkt.length, -1)).toThrow(/0-15/);
    expect(() => makeRcodeResponse(pkt, 11, Rcode.Refused)).toThrow(DnsPacketError);
    expect(() => makeRcodeResponse(pkt, pkt.length + 1, Rcode.Refused)).toThrow(/at least 12 header bytes/);
  });
});

describe('makeTruncatedResponse', () => {
  it('sets QR and TC, RA from RD, clears AA and AD, and changes nothing else', () => {
    const pkt = encodeQuery('big.example', 'TXT', { flags: HeaderFlag.RD | HeaderFlag.AA | HeaderFlag.AD | HeaderFlag.CD, edns: 512 });
    const before = Buffer.from(pkt);
    expect(makeTruncatedResponse(pkt, pkt.length)).toBe(pkt.length);
    expect(flagsOf(pkt)).toBe(HeaderFlag.QR | HeaderFlag.TC | HeaderFlag.RD | HeaderFlag.RA | HeaderFlag.CD);
    expect(Buffer.compare(pkt.subarray(4), before.subarray(4))).toBe(0);
    const decoded = decode(pkt);
    expect([decoded.flag_qr, decoded.flag_tc, decoded.flag_ra]).toEqual([true, true, true]);
    expect(decoded.additionals).toHaveLength(1);
  });

  it('clears RA when RD is clear', () => {
    const pkt = encodeQuery('big.example', 'TXT', { flags: HeaderFlag.RA });
    makeTruncatedResponse(pkt, pkt.length);
    expect(flagsOf(pkt)).toBe(HeaderFlag.QR | HeaderFlag.TC);
  });

  it('rejects a packet without a header', () => {
    expect(() => makeTruncatedResponse(new Uint8Array(8), 8)).toThrow(DnsPacketError);
  });
});

describe('spoofAnswerApplies', () => {
  it('follows the QTYPEs dnsdist answers with addresses', () => {
    const both = { addresses: [v4a, v6a] };
    expect(spoofAnswerApplies(QType.A, both)).toBe(true);
    expect(spoofAnswerApplies(QType.AAAA, both)).toBe(true);
    expect(spoofAnswerApplies(QType.ANY, both)).toBe(true);
    expect(spoofAnswerApplies(QType.MX, both)).toBe(false);
    expect(spoofAnswerApplies(QType.AAAA, { addresses: [v4a] })).toBe(false);
    expect(spoofAnswerApplies(QType.A, { addresses: [v6a] })).toBe(false);
    expect(spoofAnswerApplies(QType.ANY, { addresses: [] })).toBe(false);
    expect(spoofAnswerApplies(QType.MX, { cname: DNSName.fromString('x.example') })).toBe(true);
  });
});

describe('buildSpoofedAnswer', () => {
  it('answers an A query with the IPv4 addresses only', () => {
    const q = viewOf(encodeQuery('Spoof.Example', 'A', { id: 99 }));
    const decoded = decode(buildSpoofedAnswer(q, { addresses: [v4a, v6a, v4b] }, { shuffle: false }));
    expect(decoded.id).toBe(99);
    expect(decoded.type).toBe('response');
    expect(decoded.rcode).toBe('NOERROR');
    expect(decoded.questions).toEqual([{ name: 'Spoof.Example', type: 'A', class: 'IN' }]);
    expect(decoded.answers).toEqual([
      { name: 'Spoof.Example', type: 'A', class: 'IN', ttl: 60, flush: false, data: '192.0.2.1' },
      { name: 'Spoof.Example', type: 'A', class: 'IN', ttl: 60, flush: false, data: '192.0.2.2' },
    ]);
    expect(decoded.authorities).toEqual([]);
    expect(decoded.additionals).toEqual([]);
  });

  it('answers AAAA with the IPv6 addresses and ANY with all of them', () => {
    const aaaa = decode(buildSpoofedAnswer(viewOf(encodeQuery('s.example', 'AAAA')), { addresses: [v4a, v6a, v6b] }, { shuffle: false }));
    expect(aaaa.answers!.map((a) => [a.type, dataOf(a)])).toEqual([
      ['AAAA', '2001:db8::1'],
      ['AAAA', '2001:db8::2'],
    ]);
    const any = decode(buildSpoofedAnswer(viewOf(encodeQuery('s.example', 'ANY')), { addresses: [v4a, v6a] }, { shuffle: false }));
    expect(any.answers!.map((a) => [a.type, dataOf(a)])).toEqual([
      ['A', '192.0.2.1'],
      ['AAAA', '2001:db8::1'],
    ]);
  });

  it('writes the record owner as a pointer to the question name', () => {
    const out = buildSpoofedAnswer(viewOf(encodeQuery('s.example', 'A')), { addresses: [v4a] });
    const answerStart = 12 + 11 + 4;
    expect([...out.subarray(answerStart, answerStart + 2)]).toEqual([0xc0, 0x0c]);
    expect(out.length).toBe(answerStart + 12 + 4);
  });

  it('gives NODATA when no address suits the QTYPE', () => {
    const decoded = decode(buildSpoofedAnswer(viewOf(encodeQuery('s.example', 'MX')), { addresses: [v4a, v6a] }));
    expect(decoded.rcode).toBe('NOERROR');
    expect(decoded.answers).toEqual([]);
  });

  it('answers any QTYPE with the CNAME, ignoring addresses', () => {
    const cname = DNSName.fromString('Target.Example.Net');
    for (const type of ['A', 'MX', 'TXT'] as const) {
      const decoded = decode(buildSpoofedAnswer(viewOf(encodeQuery('alias.example', type)), { cname, addresses: [v4a] }, { ttl: 5 }));
      expect(decoded.answers).toEqual([
        { name: 'alias.example', type: 'CNAME', class: 'IN', ttl: 5, flush: false, data: 'Target.Example.Net' },
      ]);
      expect(decoded.questions![0]!.type).toBe(type);
    }
  });

  it('sets QR, RA from RD, clears AD, and applies the header options', () => {
    const q = viewOf(encodeQuery('s.example', 'A', { flags: HeaderFlag.RD | HeaderFlag.AD | HeaderFlag.CD }));
    expect(flagsOf(buildSpoofedAnswer(q, { addresses: [v4a] }))).toBe(HeaderFlag.QR | HeaderFlag.RD | HeaderFlag.RA | HeaderFlag.CD);
    expect(flagsOf(buildSpoofedAnswer(q, { addresses: [v4a] }, { aa: true, ad: true, ra: false }))).toBe(
      HeaderFlag.QR | HeaderFlag.AA | HeaderFlag.AD | HeaderFlag.RD | HeaderFlag.CD,
    );
  });

  it("answers an EDNS query with dnsdist's own payload size and the query's DO bit", () => {
    const q = viewOf(encodeQuery('s.example', 'A', { edns: 4096, ednsDo: true }));
    const decoded = decode(buildSpoofedAnswer(q, { addresses: [v4a] }));
    expect(decoded.additionals).toHaveLength(1);
    const opt = decoded.additionals![0] as dnsPacket.OptAnswer;
    expect(opt.type).toBe('OPT');
    expect(opt.udpPayloadSize).toBe(DEFAULT_SELF_GENERATED_PAYLOAD_SIZE);
    expect(opt.flag_do).toBe(true);
    expect([opt.extendedRcode, opt.ednsVersion, opt.options]).toEqual([0, 0, []]);

    const custom = decode(
      buildSpoofedAnswer(viewOf(encodeQuery('s.example', 'A', { edns: 512 })), { addresses: [v4a] }, { ednsPayloadSize: 1400 }),
    );
    const customOpt = custom.additionals![0] as dnsPacket.OptAnswer;
    expect([customOpt.udpPayloadSize, customOpt.flag_do]).toEqual([1400, false]);

    const off = decode(buildSpoofedAnswer(q, { addresses: [v4a] }, { addEdns: false }));
    expect(off.additionals).toEqual([]);
  });

  it('takes the header from the packet as it is now, not as it was parsed', () => {
    const pkt = encodeQuery('s.example', 'A', { id: 1, flags: HeaderFlag.RD | HeaderFlag.CD });
    const q = viewOf(pkt);
    // As NoRecurseAction does after the view was parsed.
    writeFlags(pkt, readFlags(pkt) & ~HeaderFlag.RD);
    expect(flagsOf(buildSpoofedAnswer(q, { addresses: [v4a] }))).toBe(HeaderFlag.QR | HeaderFlag.CD);
  });

  it('echoes only the first question', () => {
    const pkt = Buffer.from([...header(5, HeaderFlag.RD, 2, 0, 0, 0), 1, 0x61, 0, ...u16(1), ...u16(1), 1, 0x62, 0, ...u16(1), ...u16(1)]);
    const decoded = decode(buildSpoofedAnswer(viewOf(pkt), { addresses: [v4a] }));
    expect(decoded.questions).toEqual([{ name: 'a', type: 'A', class: 'IN' }]);
    expect(decoded.answers).toHaveLength(1);
  });

  it('shuffles the addresses by default', () => {
    const q = viewOf(encodeQuery('s.example', 'A'));
    const orders = new Set<string>();
    // With two addresses, 200 runs all in one order has probability 2^-199.
    for (let i = 0; i < 200 && orders.size < 2; i++) {
      orders.add(
        dnsPacket
          .decode(buildSpoofedAnswer(q, { addresses: [v4a, v4b] }))
          .answers!.map((a) => dataOf(a))
          .join(','),
      );
    }
    expect([...orders].sort()).toEqual(['192.0.2.1,192.0.2.2', '192.0.2.2,192.0.2.1']);
  });

  it('rejects bad input with typed errors', () => {
    const q = viewOf(encodeQuery('s.example', 'A'));
    expect(() => buildSpoofedAnswer(q, { addresses: [new Uint8Array(5)] })).toThrow(AddressParseError);
    expect(() => buildSpoofedAnswer(q, { addresses: [v4a] }, { ttl: -1 })).toThrow(DnsPacketError);
    expect(() => buildSpoofedAnswer(q, { addresses: [v4a] }, { ttl: 2 ** 32 })).toThrow(/TTL/);
    expect(() => buildSpoofedAnswer(q, { addresses: [v4a] }, { ednsPayloadSize: 70000 })).toThrow(DnsPacketError);
    const broken = new DnsQueryView();
    broken.parse(new Uint8Array(3));
    expect(() => buildSpoofedAnswer(broken, { addresses: [v4a] })).toThrow(/short-header/);
  });

  it('decodes with dns-packet to the expected answers for random queries', () => {
    const addressArb = fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 }));
    const cases = fc.record({
      id: fc.integer({ min: 0, max: 0xffff }),
      rd: fc.boolean(),
      name: nameArb,
      type: fc.constantFrom<RecordType>('A', 'AAAA', 'ANY', 'MX', 'TXT'),
      addresses: fc.array(addressArb, { maxLength: 5 }),
      ttl: fc.integer({ min: 0, max: 0xffffffff }),
      edns: fc.option(fc.integer({ min: 0, max: 0xffff })),
      ednsDo: fc.boolean(),
    });
    fc.assert(
      fc.property(cases, (c) => {
        const q = viewOf(
          encodeQuery(c.name, c.type, {
            id: c.id,
            flags: c.rd ? HeaderFlag.RD : 0,
            ...(c.edns === null ? {} : { edns: c.edns, ednsDo: c.ednsDo }),
          }),
        );
        const decoded = decode(buildSpoofedAnswer(q, { addresses: c.addresses }, { ttl: c.ttl, shuffle: false }));
        const expected = c.addresses
          .filter((a) => c.type === 'ANY' || (c.type === 'A' && a.length === 4) || (c.type === 'AAAA' && a.length === 16))
          .map((a) => [a.length === 4 ? 'A' : 'AAAA', [...a]]);
        expect(decoded.id).toBe(c.id);
        expect([decoded.flag_qr, decoded.flag_rd, decoded.flag_ra, decoded.flag_aa, decoded.flag_ad]).toEqual([
          true,
          c.rd,
          c.rd,
          false,
          false,
        ]);
        expect(decoded.rcode).toBe('NOERROR');
        expect(decoded.questions!.map((x) => presentation(x.name))).toEqual([q.qname]);
        expect(decoded.answers!.map((a) => [a.type, [...parseAddress(dataOf(a) as string).bytes]])).toEqual(expected);
        for (const a of decoded.answers!) {
          expect(presentation(a.name)).toBe(q.qname);
          expect((a as { ttl: number }).ttl).toBe(c.ttl);
        }
        expect(decoded.additionals!.map((a) => a.type)).toEqual(c.edns === null ? [] : ['OPT']);
        expect(spoofAnswerApplies(q.qtype, { addresses: c.addresses })).toBe(expected.length > 0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('self-made answers over a real UDP socket', () => {
  let server: dgram.Socket | undefined;
  let client: dgram.Socket | undefined;

  afterEach(async () => {
    await Promise.all(
      [server, client].map(async (s) => {
        if (s) {
          s.close();
          await once(s, 'close');
        }
      }),
    );
    server = client = undefined;
  });

  it('answers queries from one reused view: spoof for A, REFUSED otherwise', async () => {
    server = dgram.createSocket('udp4');
    const view = new DnsQueryView();
    server.on('message', (msg, rinfo) => {
      if (!view.parse(msg)) return;
      const answer = { addresses: [v4a] };
      const reply = spoofAnswerApplies(view.qtype, answer)
        ? buildSpoofedAnswer(view, answer)
        : msg.subarray(0, makeRcodeResponse(msg, msg.length, Rcode.Refused));
      server!.send(reply, rinfo.port, rinfo.address);
    });
    server.bind(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;

    client = dgram.createSocket('udp4');
    client.bind(0, '127.0.0.1');
    await once(client, 'listening');
    const ask = async (name: string, type: RecordType, id: number): Promise<ReturnType<typeof decode>> => {
      const reply = once(client!, 'message');
      client!.send(encodeQuery(name, type, { id, edns: 1232 }), port, '127.0.0.1');
      const [msg] = (await reply) as [Buffer];
      return decode(msg);
    };

    const a = await ask('www.Example.org', 'A', 1);
    expect([a.id, a.rcode, a.answers!.map((r) => dataOf(r))]).toEqual([1, 'NOERROR', ['192.0.2.1']]);
    expect(a.additionals!.map((r) => r.type)).toEqual(['OPT']);
    const mx = await ask('www.example.org', 'MX', 2);
    expect([mx.id, mx.rcode, mx.answers]).toEqual([2, 'REFUSED', []]);
    expect(mx.questions).toEqual([{ name: 'www.example.org', type: 'MX', class: 'IN' }]);
  });
});

describe('replaceSelfGeneratedOpt', () => {
  const ednsQuery = (payload: number, flags: number, options: Array<{ code: number; data: Buffer }>): Buffer =>
    dnsPacket.encode({
      type: 'query',
      id: 7,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'opt.example', class: 'IN' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: payload, flags, options } as dnsPacket.Answer],
    });

  it('swaps the OPT record for a fresh one: the given payload, the DO bit, no options', () => {
    const q = ednsQuery(4096, dnsPacket.DNSSEC_OK, [{ code: 10, data: Buffer.alloc(8, 1) }]);
    const view = new DnsQueryView();
    view.parse(q, q.length);
    const n = replaceSelfGeneratedOpt(q, q.length, view, true, 1232);
    expect(n).toBe(view.ednsOffset + 11);
    const out = dnsPacket.decode(q.subarray(0, n));
    expect(out.additionals).toHaveLength(1);
    expect(out.additionals![0]).toMatchObject({ type: 'OPT', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK, options: [] });
  });

  it('removes the OPT record when EDNS is not to be added, and leaves a query without EDNS alone', () => {
    const q = ednsQuery(1232, 0, []);
    const view = new DnsQueryView();
    view.parse(q, q.length);
    const n = replaceSelfGeneratedOpt(q, q.length, view, false);
    expect(n).toBe(view.questionEnd);
    expect(q.readUInt16BE(10)).toBe(0);
    const plain = dnsPacket.encode({ type: 'query', id: 8, questions: [{ type: 'A', name: 'opt.example', class: 'IN' }] });
    view.parse(plain, plain.length);
    expect(replaceSelfGeneratedOpt(plain, plain.length, view, true)).toBe(plain.length);
  });
});

describe('stripTruncatedAnswer', () => {
  it('keeps header and question, zeroes the counts and puts back a bare OPT with the answer’s payload and DO', () => {
    const a = dnsPacket.encode({
      type: 'response',
      id: 9,
      flags: 0x0200,
      questions: [{ type: 'A', name: 'tc.example', class: 'IN' }],
      answers: [{ type: 'A', name: 'tc.example', ttl: 1, data: '192.0.2.1' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 4242,
          flags: dnsPacket.DNSSEC_OK,
          options: [{ code: 10, data: Buffer.alloc(8) }],
        } as unknown as dnsPacket.Answer,
      ],
    });
    const view = new DnsQueryView();
    view.parse(a, a.length);
    const n = stripTruncatedAnswer(a, a.length, view, true);
    const out = dnsPacket.decode(a.subarray(0, n));
    expect(out.answers).toHaveLength(0);
    expect(out.additionals).toMatchObject([{ type: 'OPT', udpPayloadSize: 4242, flags: dnsPacket.DNSSEC_OK, options: [] }]);
    view.parse(a, n);
    expect(stripTruncatedAnswer(a, n, view, false)).toBe(view.questionEnd);
    expect(a.readUInt16BE(10)).toBe(0);
  });
});
