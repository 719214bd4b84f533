/**
 * The rarer dnsdist 1.7 selectors (issue 17), on real packets: record
 * counts, trailing data, EDNS version/option, extended RCODE, destination
 * port, qname label count and wire length, DNSSEC. Descriptions are the
 * ones Debian's dnsdist 1.7.3 prints in showRules() (rules-more-parity.test.ts
 * compares them side by side).
 */
import { DnsQueryView, parseAddress } from '@dnsdist-ts/dns';
import dnsPacket from 'dns-packet';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import { DNSResponse } from '@dnsdist-ts/dataplane/query/dns-response.js';
import {
  DNSSECRule,
  DSTPortRule,
  EDNSOptionRule,
  EDNSVersionRule,
  ERCodeRule,
  PoolAvailableRule,
  PoolOutstandingRule,
  QNameSetRule,
  ProbaRule,
  QNameLabelsCountRule,
  QNameWireLengthRule,
  RecordsCountRule,
  RecordsTypeCountRule,
  RE2Rule,
  RuleArgumentError,
  TrailingDataRule,
} from '@dnsdist-ts/dataplane/rules/index.js';
import { InvalidRegexError } from '@dnsdist-ts/dataplane/rules/rule-errors.js';
import { re2ToJs } from '@dnsdist-ts/dataplane/rules/selectors/re2-rule.js';
import { FLAG_CD, FLAG_RD, makeQuery } from './query-fixture.js';

interface OptShape {
  version?: number;
  extendedRcode?: number;
  do?: boolean;
  options?: { code: number; data: Buffer }[];
}

function opt(shape: OptShape = {}): dnsPacket.Answer {
  return {
    type: 'OPT',
    name: '.',
    udpPayloadSize: 4096,
    ednsVersion: shape.version ?? 0,
    extendedRcode: shape.extendedRcode ?? 0,
    flags: shape.do ? dnsPacket.DNSSEC_OK : 0,
    options: shape.options ?? [],
  } as unknown as dnsPacket.Answer;
}

/** A query packet with the given sections, as a DNSQuestion (the view parsed as the query path does). */
function question(packet: Buffer, localPort = 53): DNSQuestion {
  const view = new DnsQueryView();
  if (!view.parse(packet, packet.length)) throw new Error(`test packet did not parse: ${view.error}`);
  return new DNSQuestion(
    packet,
    packet.length,
    view,
    new SocketAddress(parseAddress('192.0.2.1').bytes, 5353),
    new SocketAddress(parseAddress('127.0.0.1').bytes, localPort),
    'udp',
    0,
  );
}

function packetOf(p: Partial<dnsPacket.Packet> & { rcode?: number }): Buffer {
  return dnsPacket.encode({
    type: p.type ?? 'query',
    id: 1,
    flags: (p.flags ?? FLAG_RD) | (p.rcode ?? 0),
    questions: p.questions ?? [{ type: 'A', name: 'www.example.com', class: 'IN' }],
    answers: p.answers ?? [],
    authorities: p.authorities ?? [],
    additionals: p.additionals ?? [],
  } as dnsPacket.Packet);
}

const A = (data: string): dnsPacket.Answer => ({ type: 'A', name: 'www.example.com', ttl: 60, data });
const TXT = (data: string): dnsPacket.Answer => ({ type: 'TXT', name: 'www.example.com', ttl: 60, data });

function response(dq: DNSQuestion, packet: Buffer): DNSResponse {
  return new DNSResponse(packet, packet.length, dq, undefined, 0);
}

describe('RecordsCountRule', () => {
  it('matches header counts from min to max inclusive in the given section', () => {
    const rule = new RecordsCountRule(3, 1, 1);
    expect(rule.matches(question(packetOf({ additionals: [opt()] })))).toBe(true);
    expect(rule.matches(question(packetOf({})))).toBe(false);
    expect(rule.matches(question(packetOf({ additionals: [opt(), A('192.0.2.1')] })))).toBe(false);
    const answers = new RecordsCountRule(1, 2, 3);
    expect(answers.matches(question(packetOf({ answers: [A('192.0.2.1')] })))).toBe(false);
    expect(answers.matches(question(packetOf({ answers: [A('192.0.2.1'), A('192.0.2.2')] })))).toBe(true);
    expect(new RecordsCountRule(0, 1, 1).matches(makeQuery())).toBe(true);
    expect(rule.toString()).toBe('1 <= records in AR <= 1');
    expect(answers.toString()).toBe('2 <= records in AN <= 3');
    expect(new RecordsCountRule(2, 0, 0).toString()).toBe('0 <= records in NS <= 0');
  });

  it('reads the response header in a response chain', () => {
    const dq = makeQuery();
    const rule = new RecordsCountRule(1, 1, 5);
    expect(rule.matchesResponse(response(dq, packetOf({ type: 'response', answers: [A('192.0.2.1')] })))).toBe(true);
    expect(rule.matchesResponse(response(dq, packetOf({ type: 'response' })))).toBe(false);
  });

  it('rejects a section outside 0-3 and counts over 65535', () => {
    expect(() => new RecordsCountRule(4, 0, 1)).toThrow(RuleArgumentError);
    expect(() => new RecordsCountRule(4, 0, 1)).toThrow(/DNSSection/);
    expect(() => new RecordsCountRule(1, 0, 70000)).toThrow(RuleArgumentError);
  });
});

describe('RecordsTypeCountRule', () => {
  it('counts records of one type in one section', () => {
    const noOpt = new RecordsTypeCountRule(3, 41, 0, 0);
    expect(noOpt.matches(question(packetOf({})))).toBe(true);
    expect(noOpt.matches(question(packetOf({ additionals: [opt()] })))).toBe(false);
    expect(noOpt.matches(question(packetOf({ additionals: [A('192.0.2.1')] })))).toBe(true);
    const twoA = new RecordsTypeCountRule(1, 1, 2, 2);
    expect(twoA.matches(question(packetOf({ answers: [A('192.0.2.1'), TXT('x'), A('192.0.2.2')] })))).toBe(true);
    expect(twoA.matches(question(packetOf({ answers: [A('192.0.2.1'), TXT('x'), TXT('y')] })))).toBe(false);
    expect(new RecordsTypeCountRule(0, 1, 1, 1).matches(makeQuery())).toBe(true);
    expect(new RecordsTypeCountRule(0, 28, 1, 1).matches(makeQuery())).toBe(false);
    expect(noOpt.toString()).toBe('0 <= OPT records in AR <= 0');
    expect(new RecordsTypeCountRule(1, 1, 2, 3).toString()).toBe('2 <= A records in AN <= 3');
  });

  it('does not match a message whose records do not fit in the packet', () => {
    const full = packetOf({ answers: [A('192.0.2.1'), A('192.0.2.2')] });
    const cut = full.subarray(0, full.length - 3);
    const dq = makeQuery();
    const rule = new RecordsTypeCountRule(1, 1, 0, 5);
    expect(rule.matchesResponse(response(dq, full))).toBe(true);
    expect(rule.matchesResponse(response(dq, Buffer.from(cut)))).toBe(false);
  });
});

describe('TrailingDataRule', () => {
  it('matches bytes after the last counted record, not a message cut short', () => {
    const rule = new TrailingDataRule();
    const plain = packetOf({ additionals: [opt()] });
    expect(rule.matches(question(plain))).toBe(false);
    expect(rule.matches(question(Buffer.concat([plain, Buffer.from('ABC')])))).toBe(true);
    expect(rule.matches(question(Buffer.concat([packetOf({}), Buffer.from([0])])))).toBe(true);
    // ARCOUNT says 1 but the OPT record is missing: short, not trailing.
    const short = packetOf({});
    short.writeUInt16BE(1, 10);
    expect(rule.matches(question(short))).toBe(false);
    expect(rule.toString()).toBe('trailing data');
  });
});

describe('EDNSVersionRule', () => {
  it('matches an OPT record whose version is above the given one', () => {
    const rule = new EDNSVersionRule(0);
    expect(rule.matches(question(packetOf({ additionals: [opt({ version: 1 })] })))).toBe(true);
    expect(rule.matches(question(packetOf({ additionals: [opt({ version: 0 })] })))).toBe(false);
    expect(rule.matches(question(packetOf({})))).toBe(false);
    expect(new EDNSVersionRule(1).matches(question(packetOf({ additionals: [opt({ version: 1 })] })))).toBe(false);
    expect(rule.toString()).toBe('ednsversion>0');
    expect(() => new EDNSVersionRule(256)).toThrow(RuleArgumentError);
  });
});

describe('EDNSOptionRule', () => {
  const ecs = { code: 8, data: Buffer.from([0, 1, 24, 0, 127, 0, 0]) };
  const cookie = { code: 10, data: Buffer.alloc(8, 1) };
  it('matches an OPT record carrying the option, wherever it is among the options', () => {
    const rule = new EDNSOptionRule(8);
    expect(rule.matches(question(packetOf({ additionals: [opt({ options: [ecs] })] })))).toBe(true);
    expect(rule.matches(question(packetOf({ additionals: [opt({ options: [cookie, ecs] })] })))).toBe(true);
    expect(rule.matches(question(packetOf({ additionals: [opt({ options: [cookie] })] })))).toBe(false);
    expect(rule.matches(question(packetOf({ additionals: [opt()] })))).toBe(false);
    expect(rule.matches(question(packetOf({})))).toBe(false);
    expect(rule.toString()).toBe('ednsoptcode==8');
  });

  it('reads the OPT record of a response', () => {
    const dq = makeQuery();
    const rule = new EDNSOptionRule(10);
    const withCookie = packetOf({ type: 'response', answers: [A('192.0.2.1')], additionals: [opt({ options: [cookie] })] });
    expect(rule.matchesResponse(response(dq, withCookie))).toBe(true);
    expect(rule.matchesResponse(response(dq, packetOf({ type: 'response', additionals: [opt()] })))).toBe(false);
  });
});

describe('ERCodeRule', () => {
  it('matches the 12-bit RCODE of header and OPT record, and never without an OPT record', () => {
    const dq = makeQuery();
    const badvers = new ERCodeRule(16);
    const r = (rcode: number, extendedRcode?: number): DNSResponse =>
      response(dq, packetOf({ type: 'response', rcode, additionals: extendedRcode === undefined ? [] : [opt({ extendedRcode })] }));
    expect(badvers.matchesResponse(r(0, 1))).toBe(true);
    expect(badvers.matchesResponse(r(0, 0))).toBe(false);
    expect(badvers.matchesResponse(r(0))).toBe(false);
    expect(new ERCodeRule(3).matchesResponse(r(3, 0))).toBe(true);
    expect(new ERCodeRule(3).matchesResponse(r(3))).toBe(false);
    expect(new ERCodeRule(0).matchesResponse(r(0))).toBe(false);
    expect(badvers.toString()).toBe('ercode==Bad OPT Version / TSIG Signature Failure');
    expect(new ERCodeRule(0).toString()).toBe('ercode==No Error');
    expect(() => new ERCodeRule(4096)).toThrow(RuleArgumentError);
  });
});

describe('DSTPortRule', () => {
  it('matches the local port the query came to', () => {
    expect(new DSTPortRule(5300).matches(question(packetOf({}), 5300))).toBe(true);
    expect(new DSTPortRule(5300).matches(question(packetOf({}), 53))).toBe(false);
    expect(new DSTPortRule(53).toString()).toBe('dst port==53');
  });
});

describe('QNameLabelsCountRule / QNameWireLengthRule', () => {
  it('match names outside the range', () => {
    const labels = new QNameLabelsCountRule(5, 6);
    expect(labels.matches(makeQuery({ name: 'a.b.c.d.example' }))).toBe(false);
    expect(labels.matches(makeQuery({ name: 'a.b.c.d.e.example' }))).toBe(false);
    expect(labels.matches(makeQuery({ name: 'b.c.d.example' }))).toBe(true);
    expect(labels.matches(makeQuery({ name: 'a.b.c.d.e.f.example' }))).toBe(true);
    expect(labels.toString()).toBe('labels count < 5 || labels count > 6');
    // www.example.com. is 17 bytes on the wire.
    const wire = new QNameWireLengthRule(17, 18);
    expect(wire.matches(makeQuery({ name: 'www.example.com' }))).toBe(false);
    expect(wire.matches(makeQuery({ name: 'ww.example.com' }))).toBe(true);
    expect(wire.matches(makeQuery({ name: 'wwww.example.com' }))).toBe(false);
    expect(wire.matches(makeQuery({ name: 'wwwww.example.com' }))).toBe(true);
    expect(wire.toString()).toBe('wire length < 17 || wire length > 18');
  });
});

describe('DNSSECRule', () => {
  it('matches DO in the OPT record or CD in the header', () => {
    const rule = new DNSSECRule();
    expect(rule.matches(makeQuery({ edns: 'do' }))).toBe(true);
    expect(rule.matches(makeQuery({ edns: true }))).toBe(false);
    expect(rule.matches(makeQuery())).toBe(false);
    expect(rule.matches(makeQuery({ flags: FLAG_RD | FLAG_CD }))).toBe(true);
    expect(rule.toString()).toBe('DNSSEC');
  });
});

describe('ProbaRule / PoolAvailableRule', () => {
  it('ProbaRule matches when the random draw is below the probability, always at 1', () => {
    let draw = 0.3;
    const rule = new ProbaRule(0.5, () => draw);
    expect(rule.matches(makeQuery())).toBe(true);
    draw = 0.7;
    expect(rule.matches(makeQuery())).toBe(false);
    expect(new ProbaRule(1, () => 0.999999).matches(makeQuery())).toBe(true);
    expect(new ProbaRule(0, () => 0).matches(makeQuery())).toBe(false);
    expect(rule.toString()).toBe('match with prob. 0.50');
    expect(() => new ProbaRule(1.5)).toThrow(RuleArgumentError);
  });

  it('PoolAvailableRule asks how many servers of the pool are up', () => {
    const up = new Map([
      ['a', 1],
      ['b', 0],
    ]);
    const count = (pool: string): number => up.get(pool) ?? 0;
    expect(new PoolAvailableRule('a', count).matches(makeQuery())).toBe(true);
    expect(new PoolAvailableRule('b', count).matches(makeQuery())).toBe(false);
    expect(new PoolAvailableRule('missing', count).matches(makeQuery())).toBe(false);
    expect(new PoolAvailableRule('a', count).toString()).toBe("pool 'a' is available");
  });
});

describe('QNameSetRule / PoolOutstandingRule', () => {
  it('QNameSetRule matches the exact names, ignoring case, from a copy made at construction', () => {
    const names = ['Set1.example.', 'set2.example.'];
    const rule = new QNameSetRule(names);
    names.push('later.example.');
    expect(rule.matches(makeQuery({ name: 'SET1.example' }))).toBe(true);
    expect(rule.matches(makeQuery({ name: 'set2.example' }))).toBe(true);
    expect(rule.matches(makeQuery({ name: 'x.set2.example' }))).toBe(false);
    expect(rule.matches(makeQuery({ name: 'later.example' }))).toBe(false);
    expect(rule.toString()).toBe('qname in DNSNameSet(2 FQDNs)');
  });

  it('PoolOutstandingRule matches above the limit', () => {
    let load = 5;
    const rule = new PoolOutstandingRule('p', 5, () => load);
    expect(rule.matches(makeQuery())).toBe(false);
    load = 6;
    expect(rule.matches(makeQuery())).toBe(true);
    expect(rule.toString()).toBe("pool 'p' outstanding > 5");
  });
});

describe('RE2Rule', () => {
  it('matches the whole qname without its trailing dot, in its original case', () => {
    const rule = new RE2Rule('re2-[a-z]+\\.Example\\.test');
    expect(rule.matches(makeQuery({ name: 're2-abc.Example.test' }))).toBe(true);
    expect(rule.matches(makeQuery({ name: 're2-abc.example.test' }))).toBe(false);
    expect(rule.matches(makeQuery({ name: 'x.re2-abc.Example.test' }))).toBe(false);
    // The last name's result is reused only for the same bytes: the case counts.
    expect(rule.matches(makeQuery({ name: 're2-abc.Example.test' }))).toBe(true);
    expect(rule.toString()).toBe('RE2 match: re2-[a-z]+\\.Example\\.test');
  });

  it('takes RE2 forms JavaScript spells differently: (?i), (?P<name>…), \\A and \\z', () => {
    expect(re2ToJs('(?i)a(?P<x>b)\\Ac\\z[\\A]')).toEqual({ source: 'a(?<x>b)^c$[\\A]', flags: 'i' });
    const rule = new RE2Rule('(?i)\\Aci\\.(?P<zone>example)\\z');
    expect(rule.matches(makeQuery({ name: 'CI.Example' }))).toBe(true);
    expect(() => new RE2Rule('(unclosed')).toThrow(InvalidRegexError);
  });
});
