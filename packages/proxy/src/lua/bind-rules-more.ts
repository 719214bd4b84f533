/**
 * The Lua names of the rarer dnsdist 1.7 selectors and actions (issue 17):
 * record counts, EDNS, extended RCODEs, cache control, raw spoofing. Kept
 * apart from bind-rules.ts, which holds the common ones and the chains.
 */
import {
  ContinueAction,
  NegativeAndSOAAction,
  DNSSECRule,
  DSTPortRule,
  EDNSOptionRule,
  EDNSVersionRule,
  ERCodeAction,
  ERCodeRule,
  QNameLabelsCountRule,
  QNameWireLengthRule,
  RecordsCountRule,
  RecordsTypeCountRule,
  SetEDNSOptionAction,
  SetSkipCacheAction,
  SetSkipCacheResponseAction,
  SetTempFailureCacheTTLAction,
  SpoofRawAction,
  TeeAction,
  TrailingDataRule,
  type DNSRule,
  type QueryAction,
  type ResponseAction,
  type RuleChains,
} from '../rules/index.js';
import { LuaAction, LuaResponseAction, LuaRule } from './bind-rules.js';
import { LuaOptions, type LuaArgs } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';
import type { LuaTable } from './lua-table.js';

/** dnsdist's EDNSOptionCode table. */
export const EDNS_OPTION_CODES = {
  NSID: 3,
  DAU: 5,
  DHU: 6,
  N3U: 7,
  ECS: 8,
  EXPIRE: 9,
  COOKIE: 10,
  TCPKEEPALIVE: 11,
  PADDING: 12,
  CHAIN: 13,
  KEYTAG: 14,
} as const;

/** A TeeAction as a Lua value: a DNSAction with getStats / printStats. */
export class LuaTeeAction extends LuaAction {
  readonly tee: TeeAction;
  constructor(tee: TeeAction) {
    super(tee);
    this.tee = tee;
  }
}

/** `{aa=, ad=, ra=}` for the answering actions, unknown keys refused. */
function headerOptions(
  fn: string,
  t: LuaTable | undefined,
  extra: readonly string[] = [],
): { aa?: boolean; ad?: boolean; ra?: boolean; ttl?: number } {
  const o = new LuaOptions(fn, t);
  const out: { aa?: boolean; ad?: boolean; ra?: boolean; ttl?: number } = {};
  const aa = o.boolean('aa');
  const ad = o.boolean('ad');
  const ra = o.boolean('ra');
  if (aa !== undefined) out.aa = aa;
  if (ad !== undefined) out.ad = ad;
  if (ra !== undefined) out.ra = ra;
  if (extra.includes('ttl')) {
    const ttl = o.integer('ttl');
    if (ttl !== undefined) out.ttl = ttl;
  }
  o.rejectUnknown();
  return out;
}

/**
 * @param chains the rule chains (getAction reads the query chain).
 * @param stopped settles when the proxy stops: TeeAction sockets are closed then.
 */
export function registerMoreRuleBindings(env: LuaEnvironment, chains: RuleChains, stopped: Promise<void>): void {
  const rt = env.runtime;
  rt.defineClass(LuaTeeAction, 'TeeAction', {
    getStats: (t) => new Map(Object.entries(t.tee.getStats())),
    printStats: (t) => {
      rt.print(t.tee.printStats().replace(/\n$/, ''));
    },
  });
  const tees: TeeAction[] = [];
  void stopped.then(() => {
    for (const t of tees) t.close();
  });
  const sel = (name: string, make: (a: LuaArgs) => DNSRule): void => rt.registerFunction(name, (a) => new LuaRule(make(a)));
  const act = (name: string, make: (a: LuaArgs) => QueryAction): void => rt.registerFunction(name, (a) => new LuaAction(make(a)));
  const ract = (name: string, make: (a: LuaArgs) => ResponseAction): void =>
    rt.registerFunction(name, (a) => new LuaResponseAction(make(a)));
  const actionArg = (a: LuaArgs, i: number): QueryAction => {
    const v = a.raw(i);
    if (v instanceof LuaAction) return v.action;
    return a.fail(i, 'an action (e.g. PoolAction("pool"))');
  };

  rt.setGlobal('EDNSOptionCode', new Map(Object.entries(EDNS_OPTION_CODES)));

  // ---- selectors --------------------------------------------------------
  sel('RecordsCountRule', (a) => new RecordsCountRule(a.integer(0), a.integer(1), a.integer(2)));
  sel('RecordsTypeCountRule', (a) => new RecordsTypeCountRule(a.integer(0), a.integer(1), a.integer(2), a.integer(3)));
  sel('TrailingDataRule', () => new TrailingDataRule());
  sel('EDNSVersionRule', (a) => new EDNSVersionRule(a.integer(0)));
  sel('EDNSOptionRule', (a) => new EDNSOptionRule(a.integer(0)));
  sel('ERCodeRule', (a) => new ERCodeRule(a.integer(0)));
  sel('DSTPortRule', (a) => new DSTPortRule(a.integer(0)));
  sel('QNameLabelsCountRule', (a) => new QNameLabelsCountRule(a.integer(0), a.integer(1)));
  sel('QNameWireLengthRule', (a) => new QNameWireLengthRule(a.integer(0), a.integer(1)));
  sel('DNSSECRule', () => new DNSSECRule());

  // ---- query actions ----------------------------------------------------
  act('SpoofRawAction', (a) => new SpoofRawAction(a.bytesOrBytesList(0), headerOptions('SpoofRawAction', a.optTable(1), ['ttl'])));
  act('SetSkipCacheAction', () => new SetSkipCacheAction());
  act('SetTempFailureCacheTTLAction', (a) => new SetTempFailureCacheTTLAction(a.integer(0)));
  act('ERCodeAction', (a) => new ERCodeAction(a.integer(0), headerOptions('ERCodeAction', a.optTable(1))));
  act('SetEDNSOptionAction', (a) => new SetEDNSOptionAction(a.integer(0), a.bytes(1)));
  rt.registerFunction('TeeAction', (a) => {
    if (a.optBoolean(1, false)) return env.fail('TeeAction: addECS=true (EDNS Client Subnet) is not supported yet');
    if (!a.isNil(2)) return env.fail('TeeAction: a local source address is not supported yet');
    if (a.optBoolean(3, false)) return env.fail('TeeAction: addProxyProtocol=true is not supported yet');
    const tee = new TeeAction(a.string(0));
    tees.push(tee);
    return new LuaTeeAction(tee);
  });
  rt.registerFunction('getAction', (a) => {
    const n = a.integer(0);
    const rule = chains.query.rules[n];
    if (!rule) return env.fail(`getAction: there is no rule ${n} (the rules are numbered from 0, see showRules())`);
    return rule.action instanceof TeeAction ? new LuaTeeAction(rule.action) : new LuaAction(rule.action);
  });
  act('ContinueAction', (a) => new ContinueAction(actionArg(a, 0)));
  act(
    'NegativeAndSOAAction',
    (a) =>
      new NegativeAndSOAAction(
        a.boolean(0),
        {
          zone: a.string(1),
          ttl: a.integer(2),
          mname: a.string(3),
          rname: a.string(4),
          serial: a.integer(5),
          refresh: a.integer(6),
          retry: a.integer(7),
          expire: a.integer(8),
          minimum: a.integer(9),
        },
        headerOptions('NegativeAndSOAAction', a.optTable(10)),
      ),
  );

  // ---- response actions -------------------------------------------------
  ract('SetSkipCacheResponseAction', () => new SetSkipCacheResponseAction());
}
