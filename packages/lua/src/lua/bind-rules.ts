import { DNSName, Netmask, NetmaskGroup, parseQType, SuffixMatchNode } from '@dnsdist-ts/dns';
import {
  AllowAction,
  AllowResponseAction,
  AllRule,
  AndRule,
  DelayAction,
  DelayResponseAction,
  DisableValidationAction,
  DropAction,
  DropResponseAction,
  LogAction,
  LogResponseAction,
  MaxQPSIPRule,
  MaxQPSRule,
  NetmaskGroupRule,
  newRuleEntry,
  NoneAction,
  NoRecurseAction,
  NotRule,
  OpcodeRule,
  OrRule,
  PoolAction,
  QClassRule,
  QNameRule,
  QPSAction,
  QPSPoolAction,
  QTypeRule,
  RCodeAction,
  RCodeRule,
  RDRule,
  RegexRule,
  RE2Rule,
  RuleChainError,
  SetDisableValidationAction,
  SetNoRecurseAction,
  SetTagAction,
  SetTagResponseAction,
  SpoofAction,
  SpoofCNAMEAction,
  SuffixMatchNodeRule,
  TagRule,
  TCAction,
  TCPRule,
  type DNSRule,
  type QueryAction,
  type ResponseAction,
  type RuleChain,
  type RuleChains,
  type RuleEntry,
} from '@dnsdist-ts/dataplane/rules/index.js';
import { LuaOptions, type LuaArgs } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';
import { LuaDNSName } from './lua-dns-name.js';
import { LuaTable } from './lua-table.js';

/** A selector as a Lua value (dnsdist's DNSRule userdata). */
export class LuaRule {
  readonly rule: DNSRule;
  constructor(rule: DNSRule) {
    this.rule = rule;
  }
  toString(): string {
    return this.rule.toString();
  }
}

/** A query action as a Lua value. */
export class LuaAction {
  readonly action: QueryAction;
  constructor(action: QueryAction) {
    this.action = action;
  }
  toString(): string {
    return this.action.toString();
  }
}

/** A response action as a Lua value. */
export class LuaResponseAction {
  readonly action: ResponseAction;
  constructor(action: ResponseAction) {
    this.action = action;
  }
  toString(): string {
    return this.action.toString();
  }
}

/** newRuleAction(): a rule not yet in a chain, for setRules. */
export class LuaRuleAction {
  readonly entry: RuleEntry<DNSRule, QueryAction>;
  constructor(entry: RuleEntry<DNSRule, QueryAction>) {
    this.entry = entry;
  }
  toString(): string {
    return `${this.entry.selector.toString()} -> ${this.entry.action.toString()}`;
  }
}

function isNetmask(text: string): boolean {
  try {
    Netmask.fromString(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * dnsdist's makeRule: a selector, or a string / table of strings meaning
 * "these client ranges" (when they parse as netmasks) or "these names and
 * everything below them". Mixing both is refused (dnsdist silently keeps
 * only the ranges).
 */
export function makeRule(fn: string, v: unknown): DNSRule {
  if (v instanceof LuaRule) return v.rule;
  const items: string[] = [];
  if (typeof v === 'string') items.push(v);
  else if (v instanceof LuaTable) {
    for (const x of v.entries.values()) {
      if (typeof x === 'string') items.push(x);
      else if (x instanceof LuaDNSName) items.push(x.name.toString());
      else throw new Error(`${fn}: a selector table must hold strings (names or netmasks)`);
    }
  } else if (v instanceof LuaDNSName) items.push(v.name.toString());
  else throw new Error(`${fn}: argument #1 must be a rule (e.g. QTypeRule(...)), a name, a netmask or a table of those`);
  const masks = items.filter(isNetmask);
  if (masks.length > 0 && masks.length < items.length) {
    throw new Error(
      `${fn}: the selector mixes netmasks (${masks.join(', ')}) and names; use NetmaskGroupRule and SuffixMatchNodeRule separately`,
    );
  }
  if (masks.length > 0) {
    const nmg = new NetmaskGroup();
    for (const m of masks) nmg.addMask(m);
    return new NetmaskGroupRule(nmg, true);
  }
  const smn = new SuffixMatchNode();
  for (const n of items) smn.add(DNSName.fromString(n));
  return new SuffixMatchNodeRule(smn);
}

function ruleArg(args: LuaArgs, i: number): DNSRule {
  const v = args.raw(i);
  if (v instanceof LuaRule) return v.rule;
  return args.fail(i, 'a rule (e.g. QTypeRule(...))');
}

function qtypeArg(args: LuaArgs, i: number): number {
  const v = args.raw(i);
  if (typeof v === 'string') {
    const t = parseQType(v);
    if (t === undefined) throw new Error(`${args.fn}: unknown query type '${v}'`);
    return t;
  }
  return args.integer(i);
}

function headerOptions(fn: string, t: LuaTable | undefined): { aa?: boolean; ad?: boolean; ra?: boolean; ttl?: number } {
  const o = new LuaOptions(fn, t);
  const out: { aa?: boolean; ad?: boolean; ra?: boolean; ttl?: number } = {};
  const aa = o.boolean('aa');
  const ad = o.boolean('ad');
  const ra = o.boolean('ra');
  const ttl = o.integer('ttl');
  if (aa !== undefined) out.aa = aa;
  if (ad !== undefined) out.ad = ad;
  if (ra !== undefined) out.ra = ra;
  if (ttl !== undefined) out.ttl = ttl;
  o.rejectUnknown();
  return out;
}

function ruleOptions(fn: string, t: LuaTable | undefined): { name?: string; uuid?: string } {
  const o = new LuaOptions(fn, t);
  const out: { name?: string; uuid?: string } = {};
  const name = o.string('name');
  const uuid = o.string('uuid');
  if (name !== undefined) out.name = name;
  if (uuid !== undefined) out.uuid = uuid;
  o.rejectUnknown();
  return out;
}

/** A chain operation that may fail with dnsdist's console text ("Error: …"). */
function chainOp(env: LuaEnvironment, op: () => void): void {
  try {
    op();
  } catch (err) {
    if (err instanceof RuleChainError) {
      env.runtime.print(err.consoleText);
      return;
    }
    throw err;
  }
}

export function registerRuleBindings(env: LuaEnvironment, chains: RuleChains): void {
  const rt = env.runtime;
  const log = env.proxy.log;
  const logOpts = { infoLog: (line: string) => log.info(line), isVerbose: () => log.verbose };
  rt.defineClass(LuaRule, 'DNSRule', {});
  rt.defineClass(LuaAction, 'DNSAction', {});
  rt.defineClass(LuaResponseAction, 'DNSResponseAction', {});
  rt.defineClass(LuaRuleAction, 'DNSDistRuleAction', {});
  const sel = (name: string, make: (a: LuaArgs) => DNSRule): void => rt.registerFunction(name, (a) => new LuaRule(make(a)));
  const act = (name: string, make: (a: LuaArgs) => QueryAction): void => rt.registerFunction(name, (a) => new LuaAction(make(a)));
  const ract = (name: string, make: (a: LuaArgs) => ResponseAction): void =>
    rt.registerFunction(name, (a) => new LuaResponseAction(make(a)));

  // ---- selectors --------------------------------------------------------
  sel('AllRule', () => new AllRule());
  sel('QNameRule', (a) => new QNameRule(a.string(0)));
  sel('QTypeRule', (a) => new QTypeRule(qtypeArg(a, 0)));
  sel('QClassRule', (a) => new QClassRule(a.integer(0)));
  sel('OpcodeRule', (a) => new OpcodeRule(a.integer(0)));
  sel('RCodeRule', (a) => new RCodeRule(a.integer(0)));
  sel('RDRule', () => new RDRule());
  sel('TCPRule', (a) => new TCPRule(a.boolean(0)));
  sel('TagRule', (a) => new TagRule(a.string(0), a.optString(1)));
  sel('RegexRule', (a) => new RegexRule(a.string(0)));
  sel('RE2Rule', (a) => new RE2Rule(a.string(0)));
  sel(
    'SuffixMatchNodeRule',
    (a) => new SuffixMatchNodeRule(a.object(0, SuffixMatchNode, 'a SuffixMatchNode (newSuffixMatchNode())'), a.optBoolean(1, false)),
  );
  sel('NetmaskGroupRule', (a) => {
    const v = a.raw(0);
    let nmg: NetmaskGroup;
    if (v instanceof NetmaskGroup) nmg = v;
    else {
      nmg = new NetmaskGroup();
      for (const m of a.stringOrStrings(0)) nmg.addMask(m);
    }
    return new NetmaskGroupRule(nmg, a.optBoolean(1, true), a.optBoolean(2, false));
  });
  sel('MaxQPSIPRule', (a) => {
    const opts: ConstructorParameters<typeof MaxQPSIPRule>[1] = {};
    const v4 = a.optInteger(1);
    const v6 = a.optInteger(2);
    const burst = a.optInteger(3);
    const expiration = a.optInteger(4);
    const cleanupDelay = a.optInteger(5);
    const scanFraction = a.optInteger(6);
    if (v4 !== undefined) opts.v4Mask = v4;
    if (v6 !== undefined) opts.v6Mask = v6;
    if (burst !== undefined) opts.burst = burst;
    if (expiration !== undefined) opts.expiration = expiration;
    if (cleanupDelay !== undefined) opts.cleanupDelay = cleanupDelay;
    if (scanFraction !== undefined) opts.scanFraction = scanFraction;
    return new MaxQPSIPRule(a.integer(0), opts);
  });
  sel('MaxQPSRule', (a) => new MaxQPSRule(a.integer(0), a.optInteger(1) ?? a.integer(0)));
  const ruleList = (a: LuaArgs): DNSRule[] =>
    a
      .table(0)
      .array()
      .map((x) => {
        if (x instanceof LuaRule) return x.rule;
        return a.fail(0, 'a table of rules');
      });
  sel('AndRule', (a) => new AndRule(ruleList(a)));
  sel('OrRule', (a) => new OrRule(ruleList(a)));
  sel('NotRule', (a) => new NotRule(ruleArg(a, 0)));
  rt.registerFunction('makeRule', (a) => new LuaRule(makeRule('makeRule', a.raw(0))));

  // ---- query actions ----------------------------------------------------
  act('DropAction', () => new DropAction());
  act('AllowAction', () => new AllowAction());
  act('NoneAction', () => new NoneAction());
  act('TCAction', () => new TCAction());
  act('RCodeAction', (a) => new RCodeAction(a.integer(0), headerOptions('RCodeAction', a.optTable(1))));
  act('PoolAction', (a) => new PoolAction(a.string(0)));
  act('QPSAction', (a) => new QPSAction(a.integer(0)));
  act('QPSPoolAction', (a) => new QPSPoolAction(a.integer(0), a.string(1)));
  act('DelayAction', (a) => new DelayAction(a.integer(0)));
  act('SetTagAction', (a) => new SetTagAction(a.string(0), a.string(1)));
  act('NoRecurseAction', () => new NoRecurseAction());
  act('SetNoRecurseAction', () => new SetNoRecurseAction());
  act('DisableValidationAction', () => new DisableValidationAction());
  act('SetDisableValidationAction', () => new SetDisableValidationAction());
  act('SpoofAction', (a) => {
    const v = a.raw(0);
    const addrs = v instanceof LuaTable ? a.stringOrStrings(0) : a.string(0);
    return new SpoofAction(addrs, headerOptions('SpoofAction', a.optTable(1)));
  });
  act('SpoofCNAMEAction', (a) => new SpoofCNAMEAction(a.string(0), headerOptions('SpoofCNAMEAction', a.optTable(1))));
  act(
    'LogAction',
    (a) =>
      new LogAction(a.optString(0, ''), {
        binary: a.optBoolean(1, true),
        append: a.optBoolean(2, false),
        buffered: a.optBoolean(3, true),
        verboseOnly: a.optBoolean(4, true),
        includeTimestamp: a.optBoolean(5, false),
        ...logOpts,
      }),
  );

  // ---- response actions ---------------------------------------------------
  ract('AllowResponseAction', () => new AllowResponseAction());
  ract('DropResponseAction', () => new DropResponseAction());
  ract('DelayResponseAction', (a) => new DelayResponseAction(a.integer(0)));
  ract('SetTagResponseAction', (a) => new SetTagResponseAction(a.string(0), a.string(1)));
  ract(
    'LogResponseAction',
    (a) =>
      new LogResponseAction(a.optString(0, ''), {
        append: a.optBoolean(1, false),
        buffered: a.optBoolean(2, true),
        verboseOnly: a.optBoolean(3, true),
        includeTimestamp: a.optBoolean(4, false),
        ...logOpts,
      }),
  );

  // ---- chains -------------------------------------------------------------
  const queryActionArg = (a: LuaArgs, i: number): QueryAction => {
    const v = a.raw(i);
    if (v instanceof LuaAction) return v.action;
    return a.fail(i, 'an action (e.g. DropAction())');
  };
  const responseActionArg = (a: LuaArgs, i: number): ResponseAction => {
    const v = a.raw(i);
    if (v instanceof LuaResponseAction) return v.action;
    return a.fail(i, 'a response action (e.g. DropResponseAction())');
  };

  rt.registerFunction('addAction', (a) => {
    const rule = makeRule('addAction', a.raw(0));
    chains.query.add(rule, queryActionArg(a, 1), ruleOptions('addAction', a.optTable(2)));
  });
  rt.registerFunction(
    'newRuleAction',
    (a) =>
      new LuaRuleAction(
        newRuleEntry(makeRule('newRuleAction', a.raw(0)), queryActionArg(a, 1), ruleOptions('newRuleAction', a.optTable(2))),
      ),
  );
  rt.registerFunction('setRules', (a) => {
    const entries = a
      .table(0)
      .array()
      .map((x) => {
        if (x instanceof LuaRuleAction) return x.entry;
        return a.fail(0, 'a table of newRuleAction(...) values');
      });
    chains.query.setRules(entries);
  });

  const chainBindings = <A extends QueryAction | ResponseAction>(
    suffix: string,
    chain: RuleChain<DNSRule, A>,
    add: ((a: LuaArgs) => void) | undefined,
  ): void => {
    if (add) rt.registerFunction(`add${suffix}Action`, add);
    rt.registerFunction(`show${suffix}Rules`, (a) => {
      const o = new LuaOptions(`show${suffix}Rules`, a.optTable(0));
      const showUUIDs = o.boolean('showUUIDs');
      const truncateRuleWidth = o.integer('truncateRuleWidth');
      o.rejectUnknown();
      rt.print(
        chain
          .show({ ...(showUUIDs !== undefined ? { showUUIDs } : {}), ...(truncateRuleWidth !== undefined ? { truncateRuleWidth } : {}) })
          .replace(/\n$/, ''),
      );
    });
    rt.registerFunction(`rm${suffix}Rule`, (a) => {
      const v = a.raw(0);
      chainOp(env, () => chain.remove(typeof v === 'number' ? v : a.string(0)));
    });
    rt.registerFunction(`top${suffix}Rule`, () => chainOp(env, () => chain.moveLastToTop()));
    rt.registerFunction(`mv${suffix}Rule`, (a) => chainOp(env, () => chain.move(a.integer(0), a.integer(1))));
    rt.registerFunction(`clear${suffix}Rules`, () => chain.clear());
  };
  chainBindings('', chains.query as unknown as RuleChain<DNSRule, QueryAction>, undefined);
  const addResponse = (name: string, chain: RuleChain<DNSRule, ResponseAction>) => (a: LuaArgs) => {
    chain.add(makeRule(name, a.raw(0)), responseActionArg(a, 1), ruleOptions(name, a.optTable(2)));
  };
  const response = chains.response as unknown as RuleChain<DNSRule, ResponseAction>;
  const cacheHit = chains.cacheHit as unknown as RuleChain<DNSRule, ResponseAction>;
  const selfAnswered = chains.selfAnswered as unknown as RuleChain<DNSRule, ResponseAction>;
  chainBindings('Response', response, addResponse('addResponseAction', response));
  chainBindings('CacheHitResponse', cacheHit, addResponse('addCacheHitResponseAction', cacheHit));
  chainBindings('SelfAnsweredResponse', selfAnswered, addResponse('addSelfAnsweredResponseAction', selfAnswered));
  // dnsdist's names for the query chain's "rm/top/mv/show/clear" are without a suffix.
}
