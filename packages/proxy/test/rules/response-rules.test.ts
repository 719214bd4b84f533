import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DNSResponseAction, type DNSResponseActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';
import type { DNSResponse } from '@dnsdist-ts/dataplane/query/dns-response.js';
import {
  AllowResponseAction,
  AllRule,
  applyResponseRules,
  DelayResponseAction,
  DropResponseAction,
  LogResponseAction,
  RCodeRule,
  RuleChain,
  RuleChains,
  SetTagResponseAction,
  TagRule,
} from '@dnsdist-ts/dataplane/rules/index.js';
import type { ResponseAction, ResponseSelector } from '@dnsdist-ts/dataplane/rules/rule-types.js';
import { decode, makeQuery, makeResponse } from './query-fixture.js';

class CodeResponseAction implements ResponseAction {
  calls = 0;
  constructor(readonly code: number) {}
  applyResponse(_dr: DNSResponse): DNSResponseActionCode {
    this.calls++;
    return this.code as DNSResponseActionCode;
  }
  toString(): string {
    return `code ${this.code}`;
  }
}

function chainOf(...rules: [ResponseSelector, ResponseAction][]): RuleChain<ResponseSelector, ResponseAction> {
  const chain = new RuleChain<ResponseSelector, ResponseAction>();
  for (const [s, a] of rules) chain.add(s, a);
  return chain;
}

describe('applyResponseRules', () => {
  it('sends when nothing stops the walk, counting hits', () => {
    const chain = chainOf([new RCodeRule(3), new DropResponseAction()], [new AllRule(), new SetTagResponseAction('seen', 'yes')]);
    const dr = makeResponse(makeQuery(), 0);
    expect(applyResponseRules(chain.rules, dr)).toBe(true);
    expect(chain.rules.map((r) => r.hits)).toEqual([0, 1]);
    expect(dr.question.getTag('seen')).toBe('yes');
  });

  it('drops on Drop and stops on Allow', () => {
    const after = new CodeResponseAction(DNSResponseAction.Drop);
    expect(applyResponseRules(chainOf([new RCodeRule(3), new DropResponseAction()]).rules, makeResponse(makeQuery(), 3))).toBe(false);
    expect(
      applyResponseRules(chainOf([new AllRule(), new AllowResponseAction()], [new AllRule(), after]).rules, makeResponse(makeQuery())),
    ).toBe(true);
    expect(after.calls).toBe(0);
  });

  it('a ServFail code rewrites the RCODE and sends', () => {
    const dr = makeResponse(makeQuery(), 0);
    const after = new CodeResponseAction(DNSResponseAction.Drop);
    expect(
      applyResponseRules(chainOf([new AllRule(), new CodeResponseAction(DNSResponseAction.ServFail)], [new AllRule(), after]).rules, dr),
    ).toBe(true);
    expect(decode(dr.bytes()).rcode).toBe('SERVFAIL');
    expect(after.calls).toBe(0);
  });

  it('a HeaderModify code sends at once', () => {
    const after = new CodeResponseAction(DNSResponseAction.Drop);
    const chain = chainOf([new AllRule(), new CodeResponseAction(DNSResponseAction.HeaderModify)], [new AllRule(), after]);
    expect(applyResponseRules(chain.rules, makeResponse(makeQuery()))).toBe(true);
    expect(after.calls).toBe(0);
  });

  it('DelayResponseAction delays UDP answers and goes on', () => {
    const chain = chainOf([new AllRule(), new DelayResponseAction(40)], [new TagRule('x'), new DropResponseAction()]);
    const udp = makeResponse(makeQuery({ transport: 'udp' }));
    expect(applyResponseRules(chain.rules, udp)).toBe(true);
    expect(udp.delayMs).toBe(40);
    const tcp = makeResponse(makeQuery({ transport: 'tcp' }));
    tcp.question.setTag('x', '');
    expect(applyResponseRules(chain.rules, tcp)).toBe(false);
    expect(tcp.delayMs).toBe(0);
    expect(new DelayResponseAction(40).toString()).toBe('delay by 40 msec');
  });

  it('describes the response actions as dnsdist does', () => {
    expect(new AllowResponseAction().toString()).toBe('allow');
    expect(new DropResponseAction().toString()).toBe('drop');
    expect(new SetTagResponseAction('a', 'b').toString()).toBe("set tag 'a' to value 'b'");
  });
});

describe('LogResponseAction', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dnsdist-ts-logresponse-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes one dnsdist line per response and goes on', () => {
    const path = join(dir, 'responses.log');
    const action = new LogResponseAction(path, { buffered: false });
    try {
      const dq = makeQuery({ name: 'Missing.example', type: 'AAAA', id: 0x00ff, remote: '192.0.2.1', remotePort: 4000 });
      expect(action.applyResponse(makeResponse(dq, 3))).toBe(DNSResponseAction.None);
      expect(readFileSync(path, 'utf8')).toBe('Answer to 192.0.2.1:4000 for Missing.example. AAAA (Non-Existent domain) with id 255\n');
      expect(action.toString()).toBe(`log to ${path}`);
    } finally {
      action.close();
    }
  });

  it('logs to the info log without a file when not verbose-only', () => {
    const lines: string[] = [];
    new LogResponseAction('', { verboseOnly: false, infoLog: (l) => lines.push(l) }).applyResponse(makeResponse(makeQuery(), 0));
    expect(lines).toEqual(['Answer to 192.0.2.1:5353 for www.example.com. A (No Error) with id 4660']);
    expect(new LogResponseAction('').toString()).toBe('log');
  });
});

describe('RuleChains response chains', () => {
  it('walks the chain asked for', () => {
    const rules = new RuleChains({ ruleDrop: 0, ruleNXDomain: 0, ruleRefused: 0, ruleServFail: 0, ruleTruncated: 0 });
    rules.response.add(new RCodeRule(2), new DropResponseAction());
    rules.cacheHit.add(new AllRule(), new DropResponseAction());
    const servfail = makeResponse(makeQuery(), 2);
    expect(rules.processResponse(servfail, 'response')).toBe(false);
    expect(rules.processResponse(servfail, 'selfAnswered')).toBe(true);
    expect(rules.processResponse(makeResponse(makeQuery(), 0), 'response')).toBe(true);
    expect(rules.processResponse(makeResponse(makeQuery(), 0), 'cacheHit')).toBe(false);
    expect(rules.response.rules[0]!.hits).toBe(1);
  });
});
