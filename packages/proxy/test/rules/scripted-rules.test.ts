/**
 * The logic behind LuaAction / LuaRule / LuaResponseAction without Lua:
 * the DNSQuestion / DNSResponse view a script reads (ScriptView) and the
 * way scripted rules interpret what a script returns. The scripts here are
 * in-memory stand-ins (FakeScript), standing for a Lua function.
 */
import dnsPacket from 'dns-packet';
import { DNSResponse } from '@dnsdist-ts/dataplane/query/dns-response.js';
import { DNSAction, DNSResponseAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import type { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import { NOT_A_FIELD, ScriptFieldError, ScriptView } from '@dnsdist-ts/dataplane/query/script-view.js';
import type { MatchScript, QueryScript, ResponseScript } from '@dnsdist-ts/dataplane/rules/scripted/script-function.js';
import type { ScriptResult } from '@dnsdist-ts/dataplane/rules/scripted/script-result.js';
import { ScriptedAction } from '@dnsdist-ts/dataplane/rules/scripted/scripted-action.js';
import { ScriptedResponseAction } from '@dnsdist-ts/dataplane/rules/scripted/scripted-response-action.js';
import { ScriptedRule } from '@dnsdist-ts/dataplane/rules/scripted/scripted-rule.js';
import { decode, FLAG_QR, flagsOf, makeQuery, makeResponse } from './query-fixture.js';

/** A stand-in for a Lua function: returns fixed values, or throws. */
class FakeScript implements QueryScript, ResponseScript, MatchScript {
  constructor(
    readonly code: number,
    readonly text?: string,
    readonly failure?: string,
  ) {}
  callQuery(_dq: DNSQuestion, out: ScriptResult): void {
    this.#fill(out);
  }
  callResponse(_dr: DNSResponse, out: ScriptResult): void {
    this.#fill(out);
  }
  matchQuery(): boolean {
    if (this.failure) throw new Error(this.failure);
    return this.code !== 0;
  }
  matchResponse(): boolean {
    return this.matchQuery();
  }
  #fill(out: ScriptResult): void {
    if (this.failure) throw new Error(this.failure);
    out.code = this.code;
    // As the Lua side fills it: SpoofRaw's string as bytes, any other code's as text.
    if (this.code === DNSAction.SpoofRaw && this.text !== undefined) out.bytes = Buffer.from(this.text, 'latin1');
    else out.text = this.text;
  }
}

describe('ScriptView: what dq / dr show a script', () => {
  it('reads the question fields from the query, and nothing but fields', () => {
    const dq = makeQuery({ name: 'www.Example.com', type: 'AAAA', edns: 'do', transport: 'tcp', remote: '2001:db8::5' });
    const v = new ScriptView('DNSQuestion');
    v.attachQuestion(dq);
    expect((v.read('qname') as { toString(): string }).toString()).toBe('www.Example.com.');
    expect(v.read('qtype')).toBe(28);
    expect(v.read('qclass')).toBe(1);
    expect(v.read('len')).toBe(dq.length);
    expect(v.read('tcp')).toBe(true);
    expect(v.read('remoteaddr')).toBe(dq.remote);
    expect(v.read('ecsPrefixLength')).toBe(56);
    expect(v.getDO()).toBe(true);
    expect(v.getProtocol()).toBe('Do53 TCP');
    expect(v.read('getTag')).toBe(NOT_A_FIELD);
    expect(v.read('size')).toBe(NOT_A_FIELD);
  });

  it('reads the name once per call and again after being attached to another query', () => {
    const v = new ScriptView('DNSQuestion');
    v.attachQuestion(makeQuery({ name: 'a.test' }));
    expect(v.read('qname')).toBe(v.read('qname'));
    v.attachQuestion(makeQuery({ name: 'b.test' }));
    expect(String(v.read('qname'))).toBe('b.test.');
  });

  it('writes rcode, skipCache, tempFailureTTL and the ECS switches; read-only fields report false; unknown names throw', () => {
    const dq = makeQuery();
    const v = new ScriptView('DNSQuestion');
    v.attachQuestion(dq);
    expect(v.write('rcode', 3)).toBe(true);
    expect(flagsOf(dq.packet) & 0xf).toBe(3);
    expect(v.write('skipCache', true)).toBe(true);
    expect(dq.skipCache).toBe(true);
    expect(v.write('tempFailureTTL', 30)).toBe(true);
    expect(dq.tempFailureTTL).toBe(30);
    expect(v.write('useECS', false)).toBe(true);
    expect(v.read('useECS')).toBe(false);
    expect(v.write('ecsPrefixLength', 20)).toBe(true);
    expect(v.read('ecsPrefixLength')).toBe(20);
    expect(v.write('qtype', 5)).toBe(false);
    expect(dq.view.qtype).toBe(1);
    expect(() => v.write('nosuch', 1)).toThrow(ScriptFieldError);
    expect(() => v.write('skipCache', 'yes')).toThrow(/skipCache must be true or false, got "yes"/);
    expect(() => v.write('rcode', 16)).toThrow(/rcode must be an integer from 0 to 15/);
  });

  it('dh reads and writes the header bits of the packet it is attached to', () => {
    const dq = makeQuery();
    const v = new ScriptView('DNSQuestion');
    v.attachQuestion(dq);
    expect(v.header.getFlag(FLAG_QR)).toBe(false);
    v.header.setFlag(FLAG_QR, true);
    expect(flagsOf(dq.packet) & FLAG_QR).toBe(FLAG_QR);
    const dr = makeResponse(makeQuery());
    const rv = new ScriptView('DNSResponse');
    rv.attachResponse(dr);
    expect(rv.header.getFlag(FLAG_QR)).toBe(true);
  });

  it('refuses use after detach, with a message that says what to do instead', () => {
    const v = new ScriptView('DNSQuestion');
    v.attachQuestion(makeQuery());
    v.detach();
    expect(() => v.read('qtype')).toThrow(/only valid during the call that received it; copy the values you need/);
  });

  it('tags: getTagArray is a copy; setTagArray adds', () => {
    const dq = makeQuery();
    const v = new ScriptView('DNSQuestion');
    v.attachQuestion(dq);
    v.setTag('a', '1');
    v.setTagArray([['b', '2']]);
    const all = v.getTagArray();
    all.set('c', '3');
    expect([...v.getTagArray()]).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    expect(v.getTag('missing')).toBeUndefined();
  });

  it('editTTLs calls back for every record but OPT, by section, and writes the numbers returned', () => {
    const dq = makeQuery({ name: 'ttl.test' });
    const packet = dnsPacket.encode({
      type: 'response',
      id: 0x1234,
      flags: 0x8180,
      questions: [{ type: 'A', name: 'ttl.test', class: 'IN' }],
      answers: [{ type: 'A', name: 'ttl.test', ttl: 300, data: '192.0.2.1' }],
      authorities: [{ type: 'NS', name: 'test', ttl: 600, data: 'ns.test' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as dnsPacket.Answer],
    });
    const v = new ScriptView('DNSResponse');
    v.attachResponse(new DNSResponse(packet, packet.length, dq, undefined, 0));
    const calls: number[][] = [];
    v.editTTLs((section, qclass, qtype, ttl) => {
      calls.push([section, qclass, qtype, ttl]);
      return section === 1 ? 5 : undefined;
    });
    expect(calls).toEqual([
      [1, 1, 1, 300],
      [2, 1, 2, 600],
    ]);
    const out = dnsPacket.decode(packet);
    expect(out.answers?.[0]).toMatchObject({ ttl: 5 });
    expect(out.authorities?.[0]).toMatchObject({ ttl: 600 });
  });

  it('trailing data: what follows the message is read, replaced in place when it fits, and counted in len', () => {
    const dq = makeQuery({ name: 't.test', edns: true });
    const messageLength = dq.length;
    const withTrail = Buffer.concat([dq.bytes(), Buffer.from('abc')]);
    dq.replacePacket(withTrail);
    const v = new ScriptView('DNSQuestion');
    v.attachQuestion(dq);
    expect(v.messageEnd()).toBe(messageLength);
    expect(v.getTrailingData().toString()).toBe('abc');
    v.setTrailingData(Buffer.from('z'));
    expect(dq.length).toBe(messageLength + 1);
    expect(dq.packet).toBe(withTrail);
    expect(v.getTrailingData().toString()).toBe('z');
    v.setTrailingData(Buffer.from('longer'));
    expect(v.read('len')).toBe(messageLength + 6);
    expect(v.getTrailingData().toString()).toBe('longer');
    expect(dq.view.qname).toBe('t.test.');
  });

  it('trailing data: refused (false, nothing changed) past 4096 bytes in all over UDP, 65535 over TCP, as dnsdist', () => {
    for (const [transport, max] of [
      ['udp', 4096],
      ['tcp', 65535],
    ] as const) {
      const dq = makeQuery({ name: 't.test', transport });
      const v = new ScriptView('DNSQuestion');
      v.attachQuestion(dq);
      const room = max - dq.length;
      expect(v.setTrailingData(Buffer.alloc(room + 1, 0x41))).toBe(false);
      expect(v.getTrailingData().length).toBe(0);
      expect(v.setTrailingData(Buffer.alloc(room, 0x41))).toBe(true);
      expect(v.read('len')).toBe(max);
    }
  });

  it('ednsOptions lists every option of the OPT record', () => {
    const packet = dnsPacket.encode({
      type: 'query',
      id: 1,
      questions: [{ type: 'A', name: 'o.test', class: 'IN' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1232,
          flags: 0,
          options: [
            { code: 10, data: Buffer.alloc(8, 1) },
            { code: 3, data: Buffer.alloc(0) },
          ],
        } as unknown as dnsPacket.Answer,
      ],
    });
    const dq = makeQuery();
    dq.replacePacket(packet);
    const v = new ScriptView('DNSQuestion');
    v.attachQuestion(dq);
    const opts = v.ednsOptions();
    expect([...opts.keys()]).toEqual([10, 3]);
    expect(opts.get(10)![0]).toEqual(Buffer.alloc(8, 1));
  });
});

describe('ScriptedAction: what a LuaAction does with the returned values', () => {
  const lines: string[] = [];
  const log = (l: string): number => lines.push(l);
  beforeEach(() => (lines.length = 0));

  it('Pool sets the pool, Delay the delay, other codes pass through', () => {
    const dq = makeQuery();
    expect(new ScriptedAction(new FakeScript(DNSAction.Pool, 'abuse'), log).apply(dq)).toBe(DNSAction.Pool);
    expect(dq.pool).toBe('abuse');
    expect(new ScriptedAction(new FakeScript(DNSAction.Delay, '250'), log).apply(dq)).toBe(DNSAction.Delay);
    expect(dq.delayMs).toBe(250);
    expect(new ScriptedAction(new FakeScript(DNSAction.NoOp), log).apply(dq)).toBe(DNSAction.NoOp);
    expect(new ScriptedAction(new FakeScript(99), log).apply(dq)).toBe(99);
    expect(lines).toEqual([]);
  });

  it('Spoof with an address answers it; with a name answers a CNAME', () => {
    const dq = makeQuery({ name: 's.test' });
    new ScriptedAction(new FakeScript(DNSAction.Spoof, '192.0.2.44'), log).apply(dq);
    expect(decode(dq.bytes()).answers.map((a) => a.data)).toEqual(['192.0.2.44']);
    const dq2 = makeQuery({ name: 's.test' });
    new ScriptedAction(new FakeScript(DNSAction.Spoof, 'other.test.'), log).apply(dq2);
    expect(decode(dq2.bytes()).answers[0]).toMatchObject({ type: 'CNAME', data: 'other.test' });
  });

  it('a throwing script is logged and gives ServFail', () => {
    expect(new ScriptedAction(new FakeScript(0, undefined, 'boom'), log).apply(makeQuery())).toBe(DNSAction.ServFail);
    expect(lines).toEqual(['LuaAction failed inside Lua, returning ServFail: boom']);
  });

  it('SpoofRaw answers with one record per comma-separated piece of record data; an empty string spoofs nothing', () => {
    const dq = makeQuery({ name: 'raw.test' });
    expect(new ScriptedAction(new FakeScript(DNSAction.SpoofRaw, '\xc0\x00\x02\x01,,\xc0\x00\x02\x02'), log).apply(dq)).toBe(
      DNSAction.SpoofRaw,
    );
    const answers = dnsPacket.decode(dq.bytes()).answers ?? [];
    expect(answers.map((a) => (a as { data: string }).data).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    const untouched = makeQuery({ name: 'raw.test' });
    const before = Buffer.from(untouched.bytes());
    expect(new ScriptedAction(new FakeScript(DNSAction.SpoofRaw, ''), log).apply(untouched)).toBe(DNSAction.SpoofRaw);
    expect(untouched.bytes()).toEqual(before);
    expect(lines).toEqual([]);
  });

  it('SpoofPacket (a 1.8 code) is refused with a clear log line, not ignored', () => {
    expect(new ScriptedAction(new FakeScript(DNSAction.SpoofPacket, '\x01'), log).apply(makeQuery())).toBe(DNSAction.ServFail);
    expect(lines[0]).toMatch(/DNSAction.SpoofPacket, which dnsdist-ts does not support yet/);
  });

  it('is described as dnsdist does', () => {
    expect(new ScriptedAction(new FakeScript(0), log).toString()).toBe('Lua script');
    expect(new ScriptedResponseAction(new FakeScript(0), log).toString()).toBe('Lua response script');
    expect(new ScriptedRule(new FakeScript(0), log).toString()).toBe('Lua script');
  });
});

describe('ScriptedRule and ScriptedResponseAction', () => {
  const lines: string[] = [];
  const log = (l: string): number => lines.push(l);
  beforeEach(() => (lines.length = 0));

  it('a rule matches when the script says so; a throwing script does not match and is logged', () => {
    expect(new ScriptedRule(new FakeScript(1), log).matches(makeQuery())).toBe(true);
    expect(new ScriptedRule(new FakeScript(0, undefined, 'bad'), log).matches(makeQuery())).toBe(false);
    expect(new ScriptedRule(new FakeScript(0, undefined, 'bad'), log).matchesResponse(makeResponse(makeQuery()))).toBe(false);
    expect(lines).toEqual(['LuaRule failed inside Lua: bad', 'LuaRule failed inside Lua: bad']);
  });

  it('a response action passes its code through, sets a delay, and gives ServFail when the script throws', () => {
    const dr = makeResponse(makeQuery());
    expect(new ScriptedResponseAction(new FakeScript(DNSResponseAction.Drop), log).applyResponse(dr)).toBe(DNSResponseAction.Drop);
    expect(new ScriptedResponseAction(new FakeScript(DNSResponseAction.Delay, '20'), log).applyResponse(dr)).toBe(DNSResponseAction.Delay);
    expect(dr.delayMs).toBe(20);
    expect(new ScriptedResponseAction(new FakeScript(0, undefined, 'oops'), log).applyResponse(dr)).toBe(DNSResponseAction.ServFail);
    expect(lines).toEqual(['LuaResponseAction failed inside Lua, returning ServFail: oops']);
  });
});
