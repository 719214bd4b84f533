import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';
import type { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import { QueryVerdict } from '@dnsdist-ts/dataplane/query/query-verdict.js';
import {
  AllowAction,
  AllRule,
  applyQueryRules,
  DelayAction,
  DisableValidationAction,
  DropAction,
  NoneAction,
  NoRecurseAction,
  PoolAction,
  QNameRule,
  QTypeRule,
  QueryRulesResult,
  RCodeAction,
  RDRule,
  RuleChain,
  RuleChains,
  SetTagAction,
  SpoofAction,
  TagRule,
  TCAction,
} from '@dnsdist-ts/dataplane/rules/index.js';
import type { QueryAction, Selector } from '@dnsdist-ts/dataplane/rules/rule-types.js';
import { decode, FLAG_AA, FLAG_AD, FLAG_CD, FLAG_QR, FLAG_RA, FLAG_RD, FLAG_TC, flagsOf, makeQuery } from './query-fixture.js';

/** What a Lua action does: return a bare code and leave the work to the walk. */
class CodeAction implements QueryAction {
  calls = 0;
  constructor(readonly code: DNSActionCode | number) {}
  apply(_dq: DNSQuestion): DNSActionCode {
    this.calls++;
    return this.code as DNSActionCode;
  }
  toString(): string {
    return `code ${this.code}`;
  }
}

function chainOf(...rules: [Selector, QueryAction][]): RuleChain<Selector, QueryAction> {
  const chain = new RuleChain<Selector, QueryAction>();
  for (const [s, a] of rules) chain.add(s, a);
  return chain;
}

describe('applyQueryRules', () => {
  it('forwards when no rule stops the walk, counting hits on matching rules only', () => {
    const chain = chainOf(
      [new QTypeRule(28), new DropAction()],
      [new AllRule(), new NoneAction()],
      [new AllRule(), new SetTagAction('t', '1')],
    );
    const dq = makeQuery({ type: 'A' });
    const result = applyQueryRules(chain.rules, dq);
    expect(result.verdict).toBe(QueryVerdict.Forward);
    expect(result.action).toBeUndefined();
    expect(result.ruleIndex).toBe(-1);
    expect(chain.rules.map((r) => r.hits)).toEqual([0, 1, 1]);
    expect(dq.getTag('t')).toBe('1');
  });

  it.each([
    ['Allow', new AllowAction(), QueryVerdict.Forward],
    ['Drop', new DropAction(), QueryVerdict.Drop],
    ['Pool', new PoolAction('p'), QueryVerdict.Forward],
    ['HeaderModify', new RCodeAction(5), QueryVerdict.Respond],
  ])('stops at %s', (_name, action, verdict) => {
    const after = new CodeAction(DNSAction.None);
    const chain = chainOf([new AllRule(), action], [new AllRule(), after]);
    const result = applyQueryRules(chain.rules, makeQuery());
    expect(result.verdict).toBe(verdict);
    expect(result.ruleIndex).toBe(0);
    expect(after.calls).toBe(0);
    expect(chain.rules[1]!.hits).toBe(0);
  });

  it.each([
    ['None', DNSAction.None],
    ['NoOp', DNSAction.NoOp],
    ['Delay', DNSAction.Delay],
    ['SetTag', DNSAction.SetTag],
    ['an unknown code', 99],
  ])('goes on after %s', (_name, code) => {
    const last = new CodeAction(DNSAction.Allow);
    const chain = chainOf([new AllRule(), new CodeAction(code)], [new AllRule(), last]);
    const result = applyQueryRules(chain.rules, makeQuery());
    expect(last.calls).toBe(1);
    expect(result.action).toBe(DNSAction.Allow);
    expect(result.ruleIndex).toBe(1);
  });

  it('Drop wins over an answer an earlier action made', () => {
    const chain = chainOf([new AllRule(), new CodeAction(DNSAction.None)], [new AllRule(), new DropAction()]);
    const dq = makeQuery();
    dq.packet[2]! |= 0x80;
    expect(applyQueryRules(chain.rules, dq).verdict).toBe(QueryVerdict.Drop);
  });

  it('TCAction answers UDP queries with TC=1 and passes TCP queries on', () => {
    const chain = chainOf([new AllRule(), new TCAction()], [new AllRule(), new PoolAction('tcp-pool')]);
    const udp = makeQuery({ transport: 'udp', flags: FLAG_RD | FLAG_AD });
    const result = applyQueryRules(chain.rules, udp);
    expect(result.verdict).toBe(QueryVerdict.Respond);
    expect(result.truncated).toBe(true);
    expect(flagsOf(udp.packet) & (FLAG_QR | FLAG_TC | FLAG_RA | FLAG_AD | FLAG_AA)).toBe(FLAG_QR | FLAG_TC | FLAG_RA);
    expect(udp.pool).toBe('');

    const tcp = makeQuery({ transport: 'tcp' });
    const tcpResult = applyQueryRules(chain.rules, tcp);
    expect(tcpResult.verdict).toBe(QueryVerdict.Forward);
    expect(tcpResult.truncated).toBe(false);
    expect(tcp.pool).toBe('tcp-pool');
    expect(flagsOf(tcp.packet) & (FLAG_QR | FLAG_TC)).toBe(0);
  });

  it.each([
    ['Nxdomain', DNSAction.Nxdomain, 3],
    ['Refused', DNSAction.Refused, 5],
    ['ServFail', DNSAction.ServFail, 2],
  ])('turns a bare %s code into that answer', (_name, code, rcode) => {
    const dq = makeQuery();
    const result = applyQueryRules(chainOf([new AllRule(), new CodeAction(code)]).rules, dq);
    expect(result.verdict).toBe(QueryVerdict.Respond);
    expect(result.rcode).toBe(rcode);
    const answer = decode(dq.bytes());
    expect(answer.type).toBe('response');
    expect(answer.questions![0]!.name).toBe('www.example.com');
  });

  it('a bare NoRecurse code clears RD and stops, forwarding the query', () => {
    const dq = makeQuery({ flags: FLAG_RD });
    const after = new CodeAction(DNSAction.Drop);
    const result = applyQueryRules(chainOf([new AllRule(), new CodeAction(DNSAction.NoRecurse)], [new AllRule(), after]).rules, dq);
    expect(result.verdict).toBe(QueryVerdict.Forward);
    expect(flagsOf(dq.packet) & FLAG_RD).toBe(0);
    expect(after.calls).toBe(0);
  });

  it('NoRecurseAction goes on, and later rules see the cleared bit', () => {
    const dq = makeQuery({ flags: FLAG_RD });
    const chain = chainOf([new AllRule(), new NoRecurseAction()], [new RDRule(), new DropAction()]);
    expect(applyQueryRules(chain.rules, dq).verdict).toBe(QueryVerdict.Forward);
    expect(chain.rules[1]!.hits).toBe(0);
  });

  it('gives the client its RD and CD bits back in an answer the rules made', () => {
    const dq = makeQuery({ flags: FLAG_RD });
    const chain = chainOf(
      [new AllRule(), new NoRecurseAction()],
      [new AllRule(), new DisableValidationAction()],
      [new AllRule(), new RCodeAction(3)],
    );
    const result = applyQueryRules(chain.rules, dq);
    expect(result.verdict).toBe(QueryVerdict.Respond);
    const flags = flagsOf(dq.packet);
    expect(flags & FLAG_RD).toBe(FLAG_RD);
    expect(flags & FLAG_CD).toBe(0);
    // RA was derived while RD was cleared, as in dnsdist.
    expect(flags & FLAG_RA).toBe(0);
  });

  it('gives the client its RD bit back in a spoofed answer too', () => {
    const dq = makeQuery({ flags: FLAG_RD | FLAG_CD });
    const chain = chainOf([new AllRule(), new NoRecurseAction()], [new AllRule(), new SpoofAction('192.0.2.1')]);
    expect(applyQueryRules(chain.rules, dq).verdict).toBe(QueryVerdict.Respond);
    const answer = decode(dq.bytes());
    expect([answer.flag_rd, answer.flag_cd, answer.flag_ra]).toEqual([true, true, false]);
  });

  it('a spoofed answer is a Respond verdict with the answer in dq.packet', () => {
    const dq = makeQuery({ type: 'A', name: 'ads.example' });
    const chain = chainOf([new QNameRule('ads.example'), new SpoofAction('0.0.0.0')]);
    const result = applyQueryRules(chain.rules, dq);
    expect(result.verdict).toBe(QueryVerdict.Respond);
    expect(result.action).toBe(DNSAction.HeaderModify);
    expect(decode(dq.bytes()).answers![0]!.data).toBe('0.0.0.0');
  });

  it('a delay goes on and leaves the delay on the query', () => {
    const dq = makeQuery();
    const result = applyQueryRules(chainOf([new AllRule(), new DelayAction(100)], [new AllRule(), new PoolAction('x')]).rules, dq);
    expect(result.action).toBe(DNSAction.Pool);
    expect(dq.delayMs).toBe(100);
  });

  it('reuses a result object across walks', () => {
    const result = new QueryRulesResult();
    const drop = chainOf([new AllRule(), new DropAction()]);
    expect(applyQueryRules(drop.rules, makeQuery(), result)).toBe(result);
    expect(result.verdict).toBe(QueryVerdict.Drop);
    applyQueryRules(chainOf().rules, makeQuery(), result);
    expect(result.verdict).toBe(QueryVerdict.Forward);
    expect(result.action).toBeUndefined();
  });
});

describe('RuleChains', () => {
  function engine() {
    const counters = { ruleDrop: 0, ruleNXDomain: 0, ruleRefused: 0, ruleServFail: 0, ruleTruncated: 0 };
    return { counters, rules: new RuleChains(counters) };
  }

  it('counts rule-drop, rule-truncated and the RCODEs of rule-made answers', () => {
    const { counters, rules } = engine();
    rules.query.add(new TagRule('drop'), new DropAction());
    rules.query.add(new TagRule('tc'), new TCAction());
    rules.query.add(new TagRule('nx'), new RCodeAction(3));
    rules.query.add(new TagRule('refused'), new CodeAction(DNSAction.Refused));
    rules.query.add(new TagRule('servfail'), new RCodeAction(2));
    const tagged = (tag: string, transport: 'udp' | 'tcp' = 'udp') => {
      const dq = makeQuery({ transport });
      dq.setTag(tag, '');
      return dq;
    };
    expect(rules.processQuery(tagged('drop'))).toBe(QueryVerdict.Drop);
    expect(rules.processQuery(tagged('tc'))).toBe(QueryVerdict.Respond);
    expect(rules.processQuery(tagged('tc', 'tcp'))).toBe(QueryVerdict.Forward);
    expect(rules.processQuery(tagged('nx'))).toBe(QueryVerdict.Respond);
    expect(rules.processQuery(tagged('refused'))).toBe(QueryVerdict.Respond);
    expect(rules.processQuery(tagged('servfail'))).toBe(QueryVerdict.Respond);
    expect(rules.processQuery(makeQuery())).toBe(QueryVerdict.Forward);
    expect(rules.lastQueryResult.verdict).toBe(QueryVerdict.Forward);
    expect(counters).toEqual({ ruleDrop: 1, ruleNXDomain: 1, ruleRefused: 1, ruleServFail: 1, ruleTruncated: 1 });
  });
});
