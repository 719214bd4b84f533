/**
 * The rarer dnsdist 1.7 actions (issue 17): SpoofRawAction, the cache
 * controls, ERCodeAction, ContinueAction. Wire checks decode the answers
 * with dns-packet, an independent implementation.
 */
import { DNSName, DnsQueryView, parseAddress } from '@dnsdist-ts/dns';
import dnsPacket from 'dns-packet';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import { DNSResponse } from '@dnsdist-ts/dataplane/query/dns-response.js';
import { QueryVerdict } from '@dnsdist-ts/dataplane/query/query-verdict.js';
import {
  AllRule,
  applyQueryRules,
  ContinueAction,
  DropAction,
  ERCodeAction,
  NegativeAndSOAAction,
  NoneAction,
  PoolAction,
  RCodeAction,
  RuleArgumentError,
  RuleChain,
  SetEDNSOptionAction,
  SetSkipCacheAction,
  SetSkipCacheResponseAction,
  SetTempFailureCacheTTLAction,
  SpoofRawAction,
  SpoofSVCAction,
  type QueryAction,
  type Selector,
} from '@dnsdist-ts/dataplane/rules/index.js';
import { decode, FLAG_AA, FLAG_QR, FLAG_RA, FLAG_RD, flagsOf, makeQuery, makeResponse } from './query-fixture.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

function chainOf(...rules: [Selector, QueryAction][]): RuleChain<Selector, QueryAction> {
  const chain = new RuleChain<Selector, QueryAction>();
  for (const [s, a] of rules) chain.add(s, a);
  return chain;
}

/** A query with an OPT record of the given EDNS version (dns-packet writes it). */
function ednsQuery(version: number): DNSQuestion {
  const packet = dnsPacket.encode({
    type: 'query',
    id: 7,
    flags: 0,
    questions: [{ type: 'A', name: 'v.example', class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: version, flags: 0 } as unknown as dnsPacket.Answer],
  });
  const view = new DnsQueryView();
  view.parse(packet, packet.length);
  const addr = new SocketAddress(parseAddress('192.0.2.1').bytes, 5353);
  return new DNSQuestion(packet, packet.length, view, addr, addr, 'udp', 0);
}

describe('SpoofRawAction', () => {
  it('answers with one record of the query type per RDATA, class IN, TTL 60, no OPT record', () => {
    const dq = makeQuery({ name: 'raw.example', type: 'TXT', edns: true, flags: 0 });
    const action = new SpoofRawAction([bytes(3, 0x61, 0x61, 0x61, 4, 0x62, 0x62, 0x62, 0x62), bytes(2, 0x63, 0x63)]);
    expect(action.apply(dq)).toBe(DNSAction.HeaderModify);
    const answer = decode(dq.bytes());
    expect(answer.type).toBe('response');
    expect(answer.answers.map((a) => [a.name, a.type, a.class, a.ttl])).toEqual([
      ['raw.example', 'TXT', 'IN', 60],
      ['raw.example', 'TXT', 'IN', 60],
    ]);
    const texts = (answer.answers.map((a) => a.data) as Buffer[][]).map((d) => d.map(String).join(' '));
    expect(texts.sort()).toEqual(['aaa bbbb', 'cc']);
    // dnsdist 1.7.3 answers an EDNS query's raw spoof without an OPT record.
    expect(dq.bytes().readUInt16BE(10)).toBe(0);
    expect(action.toString()).toBe('spoof in raw bytes ');
  });

  it('uses the query type whatever it is, and the aa and ttl options', () => {
    const dq = makeQuery({ name: 'srv.example', type: 'SRV', flags: 0 });
    const srv = bytes(0, 0, 0, 0, 0xff, 0xff, 3, 0x73, 0x72, 0x76, 0);
    new SpoofRawAction(srv, { aa: true, ttl: 3600 }).apply(dq);
    const answer = decode(dq.bytes());
    expect(answer.answers[0]).toMatchObject({ type: 'SRV', ttl: 3600, data: { priority: 0, weight: 0, port: 65535, target: 'srv' } });
    expect(flagsOf(dq.bytes()) & (FLAG_QR | FLAG_AA | FLAG_RA)).toBe(FLAG_QR | FLAG_AA);
    const a = makeQuery({ name: 'a.example' });
    new SpoofRawAction(bytes(192, 0, 2, 1)).apply(a);
    expect(decode(a.bytes()).answers[0]).toMatchObject({ type: 'A', data: '192.0.2.1' });
    expect(flagsOf(a.bytes()) & (FLAG_RD | FLAG_RA)).toBe(FLAG_RD | FLAG_RA);
  });

  it('refuses no RDATA at all, RDATA over 65535 bytes and bad TTLs', () => {
    expect(() => new SpoofRawAction([])).toThrow(RuleArgumentError);
    expect(() => new SpoofRawAction(new Uint8Array(65536))).toThrow(/at most 65535 bytes/);
    expect(() => new SpoofRawAction(bytes(1), { ttl: -1 })).toThrow(RuleArgumentError);
  });

  it('shuffles several records, as dnsdist does', () => {
    const action = new SpoofRawAction([bytes(1, 0x61), bytes(1, 0x62), bytes(1, 0x63), bytes(1, 0x64)]);
    const orders = new Set<string>();
    for (let i = 0; i < 50 && orders.size < 2; i++) {
      const dq = makeQuery({ type: 'TXT' });
      action.apply(dq);
      orders.add((decode(dq.bytes()).answers.map((a) => String((a.data as Buffer[])[0])) as string[]).join(''));
    }
    expect(orders.size).toBeGreaterThan(1);
  });
});

describe('cache controls', () => {
  it('SetSkipCacheAction and SetSkipCacheResponseAction mark the query, going on to the next rule', () => {
    const dq = makeQuery();
    expect(dq.skipCache).toBe(false);
    expect(new SetSkipCacheAction().apply(dq)).toBe(DNSAction.None);
    expect(dq.skipCache).toBe(true);
    expect(new SetSkipCacheAction().toString()).toBe('skip cache');
    const other = makeQuery();
    const dr: DNSResponse = makeResponse(other);
    expect(new SetSkipCacheResponseAction().applyResponse(dr)).toBe(5 /* DNSResponseAction.None */);
    expect(other.skipCache).toBe(true);
    expect(new SetSkipCacheResponseAction().toString()).toBe('skip cache');
  });

  it('SetTempFailureCacheTTLAction sets the TTL for a failure answer', () => {
    const dq = makeQuery();
    expect(dq.tempFailureTTL).toBeUndefined();
    expect(new SetTempFailureCacheTTLAction(1).apply(dq)).toBe(DNSAction.None);
    expect(dq.tempFailureTTL).toBe(1);
    expect(new SetTempFailureCacheTTLAction(1).toString()).toBe('set tempfailure cache ttl to 1');
    expect(() => new SetTempFailureCacheTTLAction(-5)).toThrow(RuleArgumentError);
  });

  it('a reused question forgets them', () => {
    const dq = makeQuery();
    dq.skipCache = true;
    dq.tempFailureTTL = 3;
    dq.reuse(dq.length, dq.remote, dq.local, 'udp', 0);
    expect(dq.skipCache).toBe(false);
    expect(dq.tempFailureTTL).toBeUndefined();
  });
});

describe('ERCodeAction', () => {
  it('puts the low 4 bits in the header and, through the rules walk, the upper 8 in a fresh OPT record', () => {
    const dq = ednsQuery(1);
    expect(new ERCodeAction(16).apply(dq)).toBe(DNSAction.HeaderModify);
    expect(dq.ednsRcode).toBe(1);
    const walked = ednsQuery(1);
    const result = applyQueryRules(chainOf([new AllRule(), new ERCodeAction(16)]).rules, walked);
    expect(result.verdict).toBe(QueryVerdict.Respond);
    const p = walked.bytes();
    expect(flagsOf(p) & 0x800f).toBe(FLAG_QR);
    const optRecord = dnsPacket.decode(p).additionals![0] as unknown as {
      extendedRcode: number;
      ednsVersion: number;
      udpPayloadSize: number;
    };
    // dnsdist's own OPT record: version 0 and its self-generated payload size, whatever the query had.
    expect(optRecord).toMatchObject({ extendedRcode: 1, ednsVersion: 0, udpPayloadSize: 1232 });
    expect(new ERCodeAction(16).toString()).toBe('set ercode Bad OPT Version / TSIG Signature Failure');
  });

  it('without EDNS only the header bits are set; a plain RCODE behaves as RCodeAction', () => {
    const dq = makeQuery();
    applyQueryRules(chainOf([new AllRule(), new ERCodeAction(23)]).rules, dq);
    expect(flagsOf(dq.bytes()) & 0x800f).toBe(FLAG_QR | 7);
    expect(dq.bytes().readUInt16BE(10)).toBe(0);
    const a = makeQuery();
    const b = makeQuery();
    new ERCodeAction(5, { aa: true }).apply(a);
    new RCodeAction(5, { aa: true }).apply(b);
    expect(a.bytes()).toEqual(b.bytes());
    expect(() => new ERCodeAction(4096)).toThrow(RuleArgumentError);
  });
});

describe('ContinueAction', () => {
  it('applies what the inner action asks for and goes on to the next rule', () => {
    const after = new NoneAction();
    const chain = chainOf([new AllRule(), new ContinueAction(new PoolAction('mypool'))], [new AllRule(), after]);
    const dq = makeQuery();
    const result = applyQueryRules(chain.rules, dq);
    expect(dq.pool).toBe('mypool');
    expect(chain.rules.map((r) => r.hits)).toEqual([1, 1]);
    expect(result.verdict).toBe(QueryVerdict.Forward);
    expect(new ContinueAction(new PoolAction('mypool')).toString()).toBe('continue after: to pool mypool');
  });

  it('ignores a Drop and keeps an answer the inner action made', () => {
    const dq = makeQuery();
    expect(new ContinueAction(new DropAction()).apply(dq)).toBe(DNSAction.None);
    expect(applyQueryRules(chainOf([new AllRule(), new ContinueAction(new DropAction())]).rules, dq).verdict).toBe(QueryVerdict.Forward);
    const answered = makeQuery();
    const result = applyQueryRules(chainOf([new AllRule(), new ContinueAction(new RCodeAction(3))]).rules, answered);
    expect(result.verdict).toBe(QueryVerdict.Respond);
    expect(result.rcode).toBe(3);
  });
});

describe('NegativeAndSOAAction', () => {
  const soa = { zone: 'auth.', ttl: 42, mname: 'mname', rname: 'rname', serial: 5, refresh: 4, retry: 3, expire: 2, minimum: 1 };

  it('answers NXDOMAIN with the SOA record in the additional section and stops the rules', () => {
    const dq = makeQuery({ name: 'nxd.example', flags: 0 });
    const action = new NegativeAndSOAAction(true, soa);
    expect(action.apply(dq)).toBe(DNSAction.Allow);
    const answer = decode(dq.bytes()) as ReturnType<typeof decode> & {
      additionals: { name: string; type: string; ttl: number; data: unknown }[];
    };
    expect(answer.rcode).toBe('NXDOMAIN');
    expect(answer.answers).toEqual([]);
    expect(answer.additionals).toEqual([
      expect.objectContaining({
        name: 'auth',
        type: 'SOA',
        ttl: 42,
        data: { mname: 'mname', rname: 'rname', serial: 5, refresh: 4, retry: 3, expire: 2, minimum: 1 },
      }),
    ]);
    expect(action.toString()).toBe('NXD  with SOA');
  });

  it('answers NODATA, with an OPT record for an EDNS query and the aa option', () => {
    const dq = makeQuery({ name: 'nodata.example', edns: 'do' });
    const action = new NegativeAndSOAAction(false, soa, { aa: true });
    const result = applyQueryRules(chainOf([new AllRule(), action]).rules, dq);
    expect(result.verdict).toBe(QueryVerdict.Respond);
    const p = dq.bytes();
    expect(decode(p).rcode).toBe('NOERROR');
    expect(p.readUInt16BE(10)).toBe(2);
    expect(flagsOf(p) & FLAG_AA).toBe(FLAG_AA);
    expect(action.toString()).toBe('NODATA with SOA');
  });

  it('refuses numbers that do not fit 32 bits and bad names', () => {
    expect(() => new NegativeAndSOAAction(true, { ...soa, serial: 2 ** 32 })).toThrow(RuleArgumentError);
    expect(() => new NegativeAndSOAAction(true, { ...soa, zone: 'a..b' })).toThrow();
  });
});

describe('SetEDNSOptionAction', () => {
  type Opt = { type: string; udpPayloadSize: number; flags: number; options: { code: number; data: Buffer }[] };
  const optOf = (dq: DNSQuestion): Opt => dnsPacket.decode(dq.bytes()).additionals!.find((a) => a.type === 'OPT') as unknown as Opt;

  it('gives a query without EDNS an OPT record (payload 512) holding the option, and marks it added', () => {
    const dq = makeQuery();
    const action = new SetEDNSOptionAction(10, 'deadbeefdeadc0de');
    expect(action.apply(dq)).toBe(DNSAction.None);
    expect(dq.ednsAdded).toBe(true);
    expect(dq.view.hasEdns).toBe(true);
    const opt = optOf(dq);
    expect(opt.udpPayloadSize).toBe(512);
    expect(opt.options.map((o) => [o.code, o.data.toString()])).toEqual([[10, 'deadbeefdeadc0de']]);
    expect(action.toString()).toBe('add EDNS Option (code=10)');
  });

  it('replaces an option with the same code, keeps the others and the flags', () => {
    const packet = dnsPacket.encode({
      type: 'query',
      id: 9,
      flags: FLAG_RD,
      questions: [{ type: 'A', name: 'o.example', class: 'IN' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 4096,
          flags: dnsPacket.DNSSEC_OK,
          options: [
            { code: 10, data: Buffer.from('aaaaaaaabbbbbbbb') },
            { code: 3, data: Buffer.alloc(0) },
          ],
        } as unknown as dnsPacket.Answer,
      ],
    });
    const view = new DnsQueryView();
    view.parse(packet);
    const addr = new SocketAddress(parseAddress('192.0.2.1').bytes, 5353);
    const dq = new DNSQuestion(packet, packet.length, view, addr, addr, 'udp', 0);
    new SetEDNSOptionAction(10, 'deadbeefdeadc0de').apply(dq);
    expect(dq.ednsAdded).toBe(false);
    const opt = optOf(dq);
    expect(opt.udpPayloadSize).toBe(4096);
    expect(opt.flags).toBe(dnsPacket.DNSSEC_OK);
    expect(opt.options.map((o) => [o.code, o.data.toString()])).toEqual([
      [3, ''],
      [10, 'deadbeefdeadc0de'],
    ]);
  });
});

describe('SpoofSVCAction', () => {
  it('answers with SVCB RDATA laid out per RFC 9460 and the hints in the additional section', () => {
    const action = new SpoofSVCAction([
      {
        priority: 1,
        target: DNSName.fromString('dot.example.'),
        mandatory: [3],
        alpn: ['dot'],
        noDefaultAlpn: true,
        port: 853,
        ipv4hint: [bytes(192, 0, 2, 1)],
      },
    ]);
    // dns-packet has no SVCB: ask for A and set the QTYPE to 64 by hand.
    const dq = makeQuery({ name: 'svc.example' });
    dq.packet.writeUInt16BE(64, dq.view.qnameEnd);
    dq.view.parse(dq.packet, dq.length);
    expect(action.apply(dq)).toBe(DNSAction.HeaderModify);
    const p = dq.bytes();
    expect([p.readUInt16BE(6), p.readUInt16BE(10)]).toEqual([1, 1]);
    const rdata = Buffer.concat([
      Buffer.from([0, 1]), // priority
      Buffer.from([3, 0x64, 0x6f, 0x74, 7, ...Buffer.from('example'), 0]), // target
      Buffer.from([0, 0, 0, 2, 0, 3]), // mandatory: port
      Buffer.from([0, 1, 0, 4, 3, 0x64, 0x6f, 0x74]), // alpn: dot
      Buffer.from([0, 2, 0, 0]), // no-default-alpn
      Buffer.from([0, 3, 0, 2, 0x03, 0x55]), // port 853
      Buffer.from([0, 4, 0, 4, 192, 0, 2, 1]), // ipv4hint
    ]);
    expect(p.includes(rdata)).toBe(true);
    expect(decode(p).answers.map((a) => a.name)).toEqual(['svc.example']);
    expect(p.readUInt16BE(dq.view.questionEnd + 2)).toBe(64); // the answer's TYPE: SVCB, the query's
    expect(action.toString()).toBe('spoof SVC record ');
    expect(() => new SpoofSVCAction([])).toThrow(RuleArgumentError);
  });
});
