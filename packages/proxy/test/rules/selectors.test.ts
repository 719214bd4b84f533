import { DNSName, NetmaskGroup, SuffixMatchNode } from '@dnsdist-ts/dns';
import {
  AllRule,
  AndRule,
  InvalidRegexError,
  NetmaskGroupRule,
  NotRule,
  OpcodeRule,
  OrRule,
  QClassRule,
  QNameRule,
  QTypeRule,
  RCodeRule,
  RDRule,
  RegexRule,
  RuleArgumentError,
  SuffixMatchNodeRule,
  TCPRule,
  TagRule,
} from '@dnsdist-ts/dataplane/rules/index.js';
import type { Selector } from '@dnsdist-ts/dataplane/rules/rule-types.js';
import { FLAG_CD, FLAG_RD, makeQuery, makeResponse } from './query-fixture.js';

describe('AllRule', () => {
  it('matches queries and responses', () => {
    const dq = makeQuery();
    expect(new AllRule().matches(dq)).toBe(true);
    expect(new AllRule().matchesResponse(makeResponse(dq))).toBe(true);
    expect(new AllRule().toString()).toBe('All');
  });
});

describe('QNameRule', () => {
  it('matches the exact name, ignoring case, and not sub-names or parents', () => {
    const rule = new QNameRule('WWW.Example.COM');
    expect(rule.matches(makeQuery({ name: 'www.example.com' }))).toBe(true);
    expect(rule.matches(makeQuery({ name: 'wWw.eXample.com' }))).toBe(true);
    expect(rule.matches(makeQuery({ name: 'a.www.example.com' }))).toBe(false);
    expect(rule.matches(makeQuery({ name: 'example.com' }))).toBe(false);
    expect(rule.toString()).toBe('qname==WWW.Example.COM.');
  });

  it('takes a DNSName and matches names with escaped bytes', () => {
    const rule = new QNameRule(DNSName.fromString('a\\.b.example.'));
    expect(rule.matches(makeQuery({ name: 'a\\.b.example' }))).toBe(true);
    expect(rule.matches(makeQuery({ name: 'a.b.example' }))).toBe(false);
  });
});

describe('QTypeRule / QClassRule', () => {
  it('compare the question type and class', () => {
    expect(new QTypeRule(28).matches(makeQuery({ type: 'AAAA' }))).toBe(true);
    expect(new QTypeRule(28).matches(makeQuery({ type: 'A' }))).toBe(false);
    expect(new QTypeRule(255).toString()).toBe('qtype==ANY');
    expect(new QTypeRule(4242).toString()).toBe('qtype==TYPE4242');
    expect(new QClassRule(3).matches(makeQuery({ qclass: 'CH', type: 'TXT' }))).toBe(true);
    expect(new QClassRule(3).matches(makeQuery())).toBe(false);
    expect(new QClassRule(1).toString()).toBe('qclass==1');
  });

  it('reject values that do not fit 16 bits', () => {
    expect(() => new QTypeRule(70000)).toThrow(RuleArgumentError);
    expect(() => new QClassRule(-1)).toThrow(RuleArgumentError);
    expect(() => new QTypeRule(1.5)).toThrow(/QTypeRule.qtype must be an integer from 0 to 65535/);
  });
});

describe('SuffixMatchNodeRule', () => {
  it('matches names equal to or below the domains, copying the node at construction', () => {
    const smn = SuffixMatchNode.from(['Example.COM', 'evil.']);
    const rule = new SuffixMatchNodeRule(smn);
    expect(rule.matches(makeQuery({ name: 'example.com' }))).toBe(true);
    expect(rule.matches(makeQuery({ name: 'a.b.EXAMPLE.com' }))).toBe(true);
    expect(rule.matches(makeQuery({ name: 'x.evil' }))).toBe(true);
    expect(rule.matches(makeQuery({ name: 'notexample.com' }))).toBe(false);
    expect(rule.matches(makeQuery({ name: 'com' }))).toBe(false);
    smn.add('later.org');
    expect(rule.matches(makeQuery({ name: 'later.org' }))).toBe(false);
    expect(rule.toString()).toBe('qname in Example.COM., evil.');
    expect(new SuffixMatchNodeRule(smn, true).toString()).toBe('qname==in-set');
  });
});

describe('NetmaskGroupRule', () => {
  it('matches the client address by default and the local address with src=false', () => {
    const nmg = new NetmaskGroup().addMask('192.0.2.0/24').addMask('!192.0.2.128/25').addMask('2001:db8::/32');
    const src = new NetmaskGroupRule(nmg);
    expect(src.matches(makeQuery({ remote: '192.0.2.7' }))).toBe(true);
    expect(src.matches(makeQuery({ remote: '192.0.2.200' }))).toBe(false);
    expect(src.matches(makeQuery({ remote: '2001:db8::1' }))).toBe(true);
    expect(src.matches(makeQuery({ remote: '198.51.100.1' }))).toBe(false);
    const dst = new NetmaskGroupRule(nmg, false);
    expect(dst.matches(makeQuery({ remote: '198.51.100.1', local: '192.0.2.53' }))).toBe(true);
    expect(dst.matches(makeQuery({ remote: '192.0.2.7', local: '127.0.0.1' }))).toBe(false);
    expect(src.toString()).toBe('Src: 192.0.2.0/24, !192.0.2.128/25, 2001:db8::/32');
    expect(dst.toString()).toBe('Dst: 192.0.2.0/24, !192.0.2.128/25, 2001:db8::/32');
    expect(new NetmaskGroupRule(nmg, true, true).toString()).toBe('Src: in-group');
  });

  it('keeps the ranges it was built with', () => {
    const nmg = new NetmaskGroup().addMask('10.0.0.0/8');
    const rule = new NetmaskGroupRule(nmg);
    nmg.addMask('192.0.2.0/24');
    expect(rule.matches(makeQuery({ remote: '192.0.2.1' }))).toBe(false);
  });
});

describe('RegexRule', () => {
  it('searches the qname without its trailing dot, ignoring case', () => {
    const rule = new RegexRule('^[a-z0-9]{20,}\\.example\\.com$');
    expect(rule.matches(makeQuery({ name: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ.example.com' }))).toBe(true);
    expect(rule.matches(makeQuery({ name: 'short.example.com' }))).toBe(false);
    expect(new RegexRule('m$').matches(makeQuery({ name: 'www.example.com' }))).toBe(true);
    expect(new RegexRule('\\.$').matches(makeQuery({ name: 'www.example.com' }))).toBe(false);
    expect(new RegexRule('^$').matches(makeQuery({ name: '.' }))).toBe(true);
    expect(rule.toString()).toBe('Regex: ^[a-z0-9]{20,}\\.example\\.com$');
  });

  it('gives the right answer when names alternate and repeat', () => {
    const rule = new RegexRule('^ads\\.');
    const names = ['ads.example', 'www.example', 'www.example', 'ads.example', 'ads.example', '.'];
    expect(names.map((name) => rule.matches(makeQuery({ name })))).toEqual([true, false, false, true, true, false]);
  });

  it('understands POSIX bracket classes', () => {
    const rule = new RegexRule('^[[:digit:]]+\\.[[:alpha:]]+$');
    expect(rule.matches(makeQuery({ name: '1234.example' }))).toBe(true);
    expect(rule.matches(makeQuery({ name: 'abc.example' }))).toBe(false);
    expect(new RegexRule('[]x]').matches(makeQuery({ name: 'a]b.example' }))).toBe(true);
  });

  it('rejects expressions that do not compile', () => {
    expect(() => new RegexRule('(unclosed')).toThrow(InvalidRegexError);
  });
});

describe('header rules', () => {
  it('RDRule reads the RD bit as it is now in the packet', () => {
    const dq = makeQuery({ flags: FLAG_RD });
    const rule = new RDRule();
    expect(rule.matches(dq)).toBe(true);
    expect(rule.matches(makeQuery({ flags: 0 }))).toBe(false);
    dq.packet[2]! &= ~0x01;
    expect(rule.matches(dq)).toBe(false);
    expect(rule.toString()).toBe('rd==1');
  });

  it('OpcodeRule compares the OPCODE', () => {
    const notify = makeQuery({ flags: (4 << 11) | FLAG_CD, type: 'SOA' });
    expect(new OpcodeRule(4).matches(notify)).toBe(true);
    expect(new OpcodeRule(0).matches(notify)).toBe(false);
    expect(new OpcodeRule(0).matches(makeQuery())).toBe(true);
    expect(new OpcodeRule(5).toString()).toBe('opcode==5');
    expect(() => new OpcodeRule(16)).toThrow(RuleArgumentError);
  });

  it('RCodeRule reads the response RCODE and prints its name', () => {
    const dq = makeQuery();
    const rule = new RCodeRule(3);
    expect(rule.matchesResponse(makeResponse(dq, 3))).toBe(true);
    expect(rule.matchesResponse(makeResponse(dq, 0))).toBe(false);
    expect(rule.matches(dq)).toBe(false);
    expect(new RCodeRule(0).matches(dq)).toBe(true);
    expect(rule.toString()).toBe('rcode==Non-Existent domain');
    expect(new RCodeRule(5).toString()).toBe('rcode==Query Refused');
  });

  it('TCPRule compares the transport', () => {
    expect(new TCPRule(true).matches(makeQuery({ transport: 'tcp' }))).toBe(true);
    expect(new TCPRule(true).matches(makeQuery({ transport: 'udp' }))).toBe(false);
    expect(new TCPRule(false).matches(makeQuery({ transport: 'udp' }))).toBe(true);
    expect(new TCPRule(true).toString()).toBe('TCP');
    expect(new TCPRule(false).toString()).toBe('UDP');
  });
});

describe('TagRule', () => {
  it('matches a tag, optionally with a value, on queries and their responses', () => {
    const dq = makeQuery();
    const any = new TagRule('class');
    const exact = new TagRule('class', 'bad');
    expect(any.matches(dq)).toBe(false);
    dq.setTag('class', 'good');
    expect(any.matches(dq)).toBe(true);
    expect(exact.matches(dq)).toBe(false);
    dq.setTag('class', 'bad');
    expect(exact.matches(dq)).toBe(true);
    expect(exact.matchesResponse(makeResponse(dq))).toBe(true);
    expect(any.toString()).toBe("tag 'class' is set");
    expect(exact.toString()).toBe("tag 'class' is set to 'bad'");
  });
});

describe('AndRule / OrRule / NotRule', () => {
  /** Counts how often it is asked, to show short-circuiting. */
  class Probe implements Selector {
    calls = 0;
    constructor(readonly result: boolean) {}
    matches(): boolean {
      this.calls++;
      return this.result;
    }
    toString(): string {
      return this.result ? 'yes' : 'no';
    }
  }

  it('AndRule needs every rule and stops at the first miss', () => {
    const dq = makeQuery({ type: 'ANY', transport: 'udp' });
    expect(new AndRule([new QTypeRule(255), new TCPRule(false)]).matches(dq)).toBe(true);
    const after = new Probe(true);
    expect(new AndRule([new QTypeRule(1), after]).matches(dq)).toBe(false);
    expect(after.calls).toBe(0);
    expect(new AndRule([]).matches(dq)).toBe(true);
    expect(new AndRule([new QTypeRule(255), new TCPRule(false)]).toString()).toBe('(qtype==ANY) && (UDP)');
  });

  it('OrRule needs one rule and stops at the first match', () => {
    const dq = makeQuery({ type: 'AAAA' });
    const after = new Probe(false);
    expect(new OrRule([new QTypeRule(28), after]).matches(dq)).toBe(true);
    expect(after.calls).toBe(0);
    expect(new OrRule([new QTypeRule(1), new QTypeRule(255)]).matches(dq)).toBe(false);
    expect(new OrRule([]).matches(dq)).toBe(false);
    expect(new OrRule([new QTypeRule(1), new QTypeRule(28)]).toString()).toBe('(qtype==A) || (qtype==AAAA)');
  });

  it('NotRule inverts, and combinators pass responses down', () => {
    const dq = makeQuery();
    expect(new NotRule(new TCPRule(true)).matches(dq)).toBe(true);
    expect(new NotRule(new TCPRule(true)).toString()).toBe('!(TCP)');
    const servfail = makeResponse(dq, 2);
    expect(new AndRule([new RCodeRule(2), new NotRule(new RCodeRule(0))]).matchesResponse(servfail)).toBe(true);
    // A query-only selector sees the query the response answers.
    expect(new OrRule([new Probe(false), new QNameRule('www.example.com')]).matchesResponse(servfail)).toBe(true);
  });
});
