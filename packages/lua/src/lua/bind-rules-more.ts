/**
 * The Lua names of the rarer dnsdist 1.7 selectors and actions (issue 17):
 * record counts, EDNS, extended RCODEs, cache control, raw spoofing. Kept
 * apart from bind-rules.ts, which holds the common ones and the chains.
 */
import {
  ContinueAction,
  NegativeAndSOAAction,
  PoolAvailableRule,
  PoolOutstandingRule,
  QNameSetRule,
  nameSetKey,
  ProbaRule,
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
  SpoofSVCAction,
  TeeAction,
  TeeActions,
  formatTeeStats,
  TrailingDataRule,
  type DNSRule,
  type QueryAction,
  type ResponseAction,
  type RuleChains,
} from '@dnsdist-ts/dataplane/rules/index.js';
import { DNSName, parseAddress, SVC_PARAM_KEYS, type SvcRecordParameters } from '@dnsdist-ts/dns';
import { LuaAction, LuaResponseAction, LuaRule } from './bind-rules.js';
import { LuaOptions, type LuaArgs } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';
import { LuaTable as LuaTableClass, type LuaTable } from './lua-table.js';
import { LuaDNSName } from './lua-dns-name.js';

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

/** newDNSNameSet(): a set of exact names for QNameSetRule. */
export class LuaDNSNameSet {
  /** Lower-cased key -> the name as added. */
  readonly names = new Map<string, DNSName>();
}

/** newSVCRecordParameters(...) as a Lua value. */
export class LuaSVCRecordParameters {
  readonly params: SvcRecordParameters;
  constructor(params: SvcRecordParameters) {
    this.params = params;
  }
}

/** A parameter key by name: "port", "alpn", …, or "keyNNN". */
function svcKey(fn: string, name: string): number {
  const known = SVC_PARAM_KEYS[name];
  if (known !== undefined) return known;
  const m = /^key([0-9]{1,5})$/.exec(name);
  if (m && Number(m[1]) <= 0xffff) return Number(m[1]);
  throw new Error(
    `${fn}: unknown SVC parameter key '${name}' (use mandatory, alpn, no-default-alpn, port, ipv4hint, ech, ipv6hint or keyNNN)`,
  );
}

function svcParameters(a: LuaArgs): SvcRecordParameters {
  const fn = 'newSVCRecordParameters';
  const p: SvcRecordParameters = { priority: a.integer(0), target: DNSName.fromString(a.string(1)) };
  if (p.priority < 0 || p.priority > 0xffff) throw new Error(`${fn}: the priority must be 0 to 65535, got ${p.priority}`);
  const o = new LuaOptions(fn, a.optTable(2));
  const list = (key: string): string[] | undefined => o.stringOrStrings(key);
  const mandatory = list('mandatory');
  if (mandatory) p.mandatory = mandatory.map((k) => svcKey(fn, k));
  const alpn = list('alpn');
  if (alpn) p.alpn = alpn;
  const noDefaultAlpn = o.boolean('noDefaultAlpn');
  if (noDefaultAlpn) p.noDefaultAlpn = true;
  const port = o.integer('port');
  if (port !== undefined) {
    if (port < 0 || port > 0xffff) throw new Error(`${fn}: port must be 0 to 65535, got ${port}`);
    p.port = port;
  }
  const v4 = list('ipv4hint');
  if (v4)
    p.ipv4hint = v4.map((t) => {
      const ip = parseAddress(t);
      if (ip.family !== 4) throw new Error(`${fn}: ipv4hint '${t}' is not an IPv4 address`);
      return ip.bytes;
    });
  const v6 = list('ipv6hint');
  if (v6)
    p.ipv6hint = v6.map((t) => {
      const ip = parseAddress(t);
      if (ip.family !== 6) throw new Error(`${fn}: ipv6hint '${t}' is not an IPv6 address`);
      return ip.bytes;
    });
  const ech = o.string('ech');
  if (ech !== undefined) p.ech = Buffer.from(ech, 'utf8');
  if (o.table) {
    for (const key of o.table.entries.keys()) {
      if (typeof key !== 'string' || !/^key[0-9]+$/.test(key)) continue;
      const value = o.string(key)!;
      (p.other ??= new Map()).set(svcKey(fn, key), Buffer.from(value, 'utf8'));
    }
  }
  o.rejectUnknown();
  return p;
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
 * @returns the TeeActions created, in order (their counters are summed over the workers, tee-actions.ts).
 */
export function registerMoreRuleBindings(env: LuaEnvironment, chains: RuleChains, stopped: Promise<void>): TeeActions {
  const rt = env.runtime;
  const tees = new TeeActions();
  rt.defineClass(LuaTeeAction, 'TeeAction', {
    getStats: (t) => new Map(Object.entries(tees.statsOf(t.tee))),
    printStats: (t) => {
      rt.print(formatTeeStats(tees.statsOf(t.tee)).replace(/\n$/, ''));
    },
  });
  void stopped.then(() => tees.closeAll());
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
  sel(
    'PoolOutstandingRule',
    (a) =>
      new PoolOutstandingRule(a.string(0), a.integer(1), (pool) => {
        let load = 0;
        for (const s of env.proxy.getPool(pool)?.servers ?? []) load += s.outstanding;
        return load;
      }),
  );
  sel('QNameSetRule', (a) => new QNameSetRule(a.object(0, LuaDNSNameSet, 'a DNSNameSet (newDNSNameSet())').names.values()));
  const nameArgs = (a: LuaArgs): DNSName[] => {
    const v = a.raw(0);
    const one = (x: unknown): DNSName => {
      if (x instanceof LuaDNSName) return x.name;
      if (typeof x === 'string') return DNSName.fromString(x);
      return a.fail(0, 'a name, a DNSName or a table of those');
    };
    return v instanceof LuaTableClass ? v.values().map(one) : [one(v)];
  };
  rt.defineClass(LuaDNSNameSet, 'DNSNameSet', {
    add: (set, a) => {
      for (const n of nameArgs(a)) set.names.set(nameSetKey(n), n);
    },
    check: (set, a) => set.names.has(nameSetKey(nameArgs(a)[0]!)),
    delete: (set, a) => {
      let removed = 0;
      for (const n of nameArgs(a)) if (set.names.delete(nameSetKey(n))) removed++;
      return removed;
    },
    size: (set) => set.names.size,
    empty: (set) => set.names.size === 0,
    clear: (set) => set.names.clear(),
    toString: (set: LuaDNSNameSet) => [...set.names.values()].map((n) => n.toStringNoDot()).join('\n') + (set.names.size ? '\n' : ''),
  });
  rt.registerFunction('newDNSNameSet', () => new LuaDNSNameSet());
  sel('ProbaRule', (a) => new ProbaRule(a.number(0)));
  sel('PoolAvailableRule', (a) => new PoolAvailableRule(a.string(0), (pool) => env.proxy.getPool(pool)?.countUp() ?? 0));

  // ---- query actions ----------------------------------------------------
  act('SpoofRawAction', (a) => new SpoofRawAction(a.bytesOrBytesList(0), headerOptions('SpoofRawAction', a.optTable(1), ['ttl'])));
  act('SetSkipCacheAction', () => new SetSkipCacheAction());
  act('SetTempFailureCacheTTLAction', (a) => new SetTempFailureCacheTTLAction(a.integer(0)));
  act('ERCodeAction', (a) => new ERCodeAction(a.integer(0), headerOptions('ERCodeAction', a.optTable(1))));
  rt.registerFunction('SetNegativeAndSOAAction', (a) => {
    env.warn(
      'access to SetNegativeAndSOAAction is deprecated and will be removed in a future version, please use NegativeAndSOAAction instead',
    );
    return negativeAndSoa(a);
  });
  act('SetEDNSOptionAction', (a) => new SetEDNSOptionAction(a.integer(0), a.bytes(1)));
  rt.registerFunction('TeeAction', (a) => {
    if (!a.isNil(2)) return env.fail('TeeAction: a local source address is not supported yet');
    const tee = new TeeAction(a.string(0), a.optBoolean(1, false), a.optBoolean(3, false));
    tees.add(tee);
    return new LuaTeeAction(tee);
  });
  rt.registerFunction('getAction', (a) => {
    const n = a.integer(0);
    const rule = chains.query.rules[n];
    if (!rule) return env.fail(`getAction: there is no rule ${n} (the rules are numbered from 0, see showRules())`);
    return rule.action instanceof TeeAction ? new LuaTeeAction(rule.action) : new LuaAction(rule.action);
  });
  rt.defineClass(LuaSVCRecordParameters, 'SVCRecordParameters', {});
  rt.registerFunction('newSVCRecordParameters', (a) => new LuaSVCRecordParameters(svcParameters(a)));
  act('SpoofSVCAction', (a) => {
    const records = a
      .table(0)
      .array()
      .map((x) => (x instanceof LuaSVCRecordParameters ? x.params : a.fail(0, 'a table of newSVCRecordParameters(...) values')));
    return new SpoofSVCAction(records, headerOptions('SpoofSVCAction', a.optTable(1), ['ttl']));
  });
  act('ContinueAction', (a) => new ContinueAction(actionArg(a, 0)));
  const negativeAndSoa = (a: LuaArgs): LuaAction =>
    new LuaAction(
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
  rt.registerFunction('NegativeAndSOAAction', negativeAndSoa);

  // ---- response actions -------------------------------------------------
  ract('SetSkipCacheResponseAction', () => new SetSkipCacheResponseAction());
  return tees;
}
