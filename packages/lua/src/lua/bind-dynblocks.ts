import { DNSName, NetmaskGroup, parseAddressWithPort } from '@dnsdist-ts/dns';
import {
  ClientBlockRange,
  DEFAULT_ACTION_REFUSED_TEXT,
  DynBlockRateRule,
  DynBlockRatioRule,
  DynBlockRulesGroup,
  DynBlockSuffixRule,
  isDefaultActionChoice,
  isDnsAction,
  logName,
  responseStatTree,
  showDynBlocks,
  type DynamicBlocks,
  type DynBlock,
  type DynBlockQueryCheck,
  type DynBlockTag,
  type FastDetector,
  type StatNode,
  type StatNodeStats,
  type SuffixVisitorVerdict,
} from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import type { BlockScopeGuard } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { cutOffFor, type Rings } from '@dnsdist-ts/dataplane/rings/index.js';
import { LuaOptions, type LuaArgs } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';
import { LuaDNSName } from './lua-dns-name.js';
import type { FfiScriptCalls } from './ffi/ffi-script-calls.js';
import type { LuaFunctionRef } from './lua-runtime.js';

/** The dynamic-block objects the bindings act on (the application makes them: app/dyn-block-wiring.ts). */
export interface DynBlockBindingTargets {
  readonly blocks: DynamicBlocks;
  readonly check: DynBlockQueryCheck;
  /** Where dynBlockRulesGroup() adds the groups it makes (the fast detector reads them). */
  readonly groups: Set<DynBlockRulesGroup>;
  readonly fast: FastDetector;
}

/** dnsdist takes rates as unsigned integers. */
function rateArg(a: LuaArgs, i: number): number {
  const v = a.number(i);
  if (v < 0) a.fail(i, 'a rate of 0 or more');
  return Math.trunc(v);
}

function secondsArg(a: LuaArgs, i: number): number {
  const v = a.integer(i);
  if (v < 0) a.fail(i, 'a number of seconds, 0 or more');
  return v;
}

function actionArg(a: LuaArgs, i: number): DNSActionCode {
  const v = a.optInteger(i, DNSAction.None);
  if (!isDnsAction(v)) a.fail(i, 'a DNSAction value (e.g. DNSAction.Drop)');
  return v as DNSActionCode;
}

/** The 2.0 options table ({tagName=, tagValue=}), required for SetTag. */
function tagArg(a: LuaArgs, i: number, action: DNSActionCode): DynBlockTag | undefined {
  const t = a.optTable(i);
  const o = new LuaOptions(a.fn, t);
  const name = o.string('tagName');
  const value = o.string('tagValue');
  o.rejectUnknown();
  if (action !== DNSAction.SetTag) return undefined;
  if (!t) a.fail(i, `an options table with tagName (SetTag action passed to ${a.fn} without additional parameters)`);
  if (name === undefined || name === '') a.fail(i, `an options table with tagName (SetTag action passed to ${a.fn} without a tag name)`);
  return { name, value: value ?? '' };
}

/** A string, a table of strings, or a NetmaskGroup (excludeRange and friends). */
function rangesArg(a: LuaArgs, i: number): readonly string[] | NetmaskGroup {
  const v = a.raw(i);
  if (v instanceof NetmaskGroup) return v;
  return a.stringOrStrings(i);
}

/** A plain-table StatNode for a Lua visitor: fullname, labelsCount, name, numChildren(). */
function luaStatNode(node: StatNode): Record<string, unknown> {
  return { name: node.name, fullname: node.fullname, labelsCount: node.labelsCount, numChildren: () => node.numChildren };
}

function verdictOf(results: unknown[]): SuffixVisitorVerdict {
  const [block, reason, action] = results;
  return {
    block: block === true,
    reason: typeof reason === 'string' ? reason : undefined,
    action: typeof action === 'number' && isDnsAction(action) ? (action as DNSActionCode) : undefined,
  };
}

/** A DynBlock as getDynamicBlocks() shows it (a plain table, fields as in dnsdist 1.9). */
function blockRecord(b: DynBlock, nowMs: number, epochMs: number): Record<string, unknown> {
  return {
    reason: b.reason,
    domain: b.domain ? b.domain.toString() : '',
    until: Math.floor((epochMs + (b.until - nowMs)) / 1000),
    action: b.action,
    blocks: b.blocks,
    warning: b.warning,
    bpf: b.bpf,
    ...(b.tag ? { tagName: b.tag.name, tagValue: b.tag.value } : {}),
  };
}

/**
 * Dynamic blocks in Lua: dynBlockRulesGroup() and its methods, the global
 * block functions (addDynBlocks, addDynBlockSMT, addDynamicBlock,
 * showDynBlocks, clearDynBlocks, getDynamicBlocks*), the settings
 * (setDynBlocksAction, setDynBlocksPurgeInterval) and our own
 * setDynBlocksKernelOptions, setDynBlocksFastDetection and
 * setDynBlocksRangeLimits.
 *
 * addDynamicBlock and addDynBlockSMT (typed on the console, or sent by a
 * script) go through `guard`; rules groups do not (their masks are the
 * configuration itself).
 *
 * The tables, the per-query check, the fast detector and the housekeeping
 * are the application's (app/dyn-block-wiring.ts): `dyn` is what they are;
 * the groups made here are added to `dyn.groups`.
 */
export function registerDynBlockBindings(
  env: LuaEnvironment,
  dyn: DynBlockBindingTargets,
  rings: Rings,
  guard: BlockScopeGuard,
  ffi?: FfiScriptCalls,
): void {
  const rt = env.runtime;
  const proxy = env.proxy;
  const log = proxy.log;
  const { blocks, check, groups, fast } = dyn;

  // ---- the rules group --------------------------------------------------
  const rateRule = (a: LuaArgs, first: number): DynBlockRateRule => {
    const action = actionArg(a, first + 4);
    return new DynBlockRateRule({
      rate: rateArg(a, first),
      seconds: secondsArg(a, first + 1),
      reason: a.string(first + 2),
      blockSeconds: secondsArg(a, first + 3),
      action,
      warningRate: a.isNil(first + 5) ? 0 : rateArg(a, first + 5),
      tag: tagArg(a, first + 6, action),
    });
  };

  rt.defineClass<DynBlockRulesGroup>(DynBlockRulesGroup, 'DynBlockRulesGroup', {
    setQueryRate: (g, a) => g.setQueryRate(rateRule(a, 0)),
    setResponseByteRate: (g, a) => g.setResponseByteRate(rateRule(a, 0)),
    setRCodeRate: (g, a) => g.setRCodeRate(a.integer(0), rateRule(a, 1)),
    setQTypeRate: (g, a) => g.setQTypeRate(a.integer(0), rateRule(a, 1)),
    setRCodeRatio: (g, a) => {
      const action = actionArg(a, 6);
      const ratio = a.number(1);
      if (ratio < 0) a.fail(1, 'a ratio of 0 or more');
      g.setRCodeRatio(
        a.integer(0),
        new DynBlockRatioRule({
          ratio,
          seconds: secondsArg(a, 2),
          reason: a.string(3),
          blockSeconds: secondsArg(a, 4),
          minimumResponses: secondsArg(a, 5),
          action,
          warningRatio: a.optNumber(7, 0),
          tag: tagArg(a, 8, action),
        }),
      );
    },
    setSuffixMatchRule: (g, a) => {
      const action = actionArg(a, 3);
      const visitor = a.function(4);
      g.setSuffixMatchRule(
        new DynBlockSuffixRule({
          seconds: secondsArg(a, 0),
          reason: a.string(1),
          blockSeconds: secondsArg(a, 2),
          action,
          tag: tagArg(a, 5, action),
          visitor: (node: StatNode, self: StatNodeStats, children: StatNodeStats) =>
            verdictOf(visitor.call(luaStatNode(node), self, children)),
        }),
      );
    },
    setSuffixMatchRuleFFI: (g, a) => {
      if (!ffi) return env.fail('setSuffixMatchRuleFFI: the ffi module is not available in this Lua state');
      const action = actionArg(a, 3);
      const visitor = a.function(4) as LuaFunctionRef;
      g.setSuffixMatchRule(
        new DynBlockSuffixRule({
          seconds: secondsArg(a, 0),
          reason: a.string(1),
          blockSeconds: secondsArg(a, 2),
          action,
          tag: tagArg(a, 5, action),
          visitor: (node: StatNode, self: StatNodeStats, children: StatNodeStats) => ffi.callStatVisitor(visitor, node, self, children),
        }),
      );
    },
    setNewBlockInsertedHook: (g, a) => {
      const fn = a.function(0);
      g.newBlockHook = (info) => {
        try {
          fn.call(info.type, info.key, info.reason, info.action, info.seconds, info.warning);
        } catch (err) {
          log.warn(`Error calling the Lua hook after a dynamic block insertion: ${(err as Error).message}`);
        }
      };
    },
    setMasks: (g, a) => g.setMasks(a.integer(0), a.integer(1), a.integer(2)),
    setQuiet: (g, a) => {
      g.quiet = a.boolean(0);
    },
    excludeRange: (g, a) => g.excludeRange(rangesArg(a, 0)),
    includeRange: (g, a) => g.includeRange(rangesArg(a, 0)),
    removeRange: (g, a) => g.removeRange(rangesArg(a, 0)),
    excludeDomains: (g, a) => g.excludeDomains(a.stringOrStrings(0)),
    apply: (g) => g.apply(performance.now()),
    toString: (g: DynBlockRulesGroup) => g.toString(),
  });
  rt.registerFunction('dynBlockRulesGroup', () => {
    const g = new DynBlockRulesGroup(blocks, rings);
    g.onRulesChanged = () => fast.refresh();
    groups.add(g);
    return g;
  });

  // statNodeRespRing(visitor [, seconds]): the suffix-match rule's tree, walked by a console function.
  rt.registerFunction('statNodeRespRing', (a) => {
    const visitor = a.function(0);
    const seconds = a.isNil(1) ? 0 : secondsArg(a, 1);
    const now = performance.now();
    responseStatTree(rings, now, cutOffFor(now, seconds)).visit((node, self, children) => {
      visitor.call(luaStatNode(node), self, children);
    });
  });

  // ---- global block functions --------------------------------------------
  rt.registerFunction('addDynBlocks', (a) => {
    const table = a.table(0);
    const reason = a.string(1);
    const seconds = a.isNil(2) ? 10 : secondsArg(a, 2);
    const action = actionArg(a, 3);
    const now = performance.now();
    for (const key of table.entries.keys()) {
      let bytes: Uint8Array;
      if (key instanceof SocketAddress) bytes = key.bytes;
      else if (typeof key === 'string') bytes = parseAddressWithPort(key, 0).bytes;
      else return a.fail(0, 'a table keyed by addresses, as exceedQRate() and friends return');
      const range = ClientBlockRange.of(bytes, 0);
      const logKey = key instanceof SocketAddress ? key.address : key;
      blocks.addOrRefreshClientBlock(
        range,
        { reason, action, until: now + seconds * 1000, warning: false },
        { now, seconds, kernelEligible: false, logKey, source: 'lua' },
      );
    }
  });

  rt.registerFunction('addDynBlockSMT', (a) => {
    const names = a.table(0);
    const reason = a.string(1);
    const seconds = a.isNil(2) ? 10 : secondsArg(a, 2);
    const action = actionArg(a, 3);
    const tag = tagArg(a, 4, action);
    // Every name is checked before any is blocked: a refused name leaves the table as it was.
    const list = [...names.entries.values()].map((v) =>
      (v instanceof LuaDNSName ? v.name : DNSName.fromString(typeof v === 'string' ? v : a.fail(0, 'a table of names'))).toLowerCase(),
    );
    for (const name of list) guard.checkSuffix(name, 'addDynBlockSMT');
    const now = performance.now();
    for (const name of list) {
      blocks.addOrRefreshSuffixBlock(
        name,
        { reason, action, until: now + seconds * 1000, warning: false, tag },
        { now, seconds, kernelEligible: true, logKey: logName(name), source: 'lua' },
      );
    }
  });

  rt.registerFunction('addDynamicBlock', (a) => {
    const v = a.raw(0);
    const address = v instanceof SocketAddress ? { bytes: v.bytes, port: v.port } : parseAddressWithPort(a.string(0), 0);
    const reason = a.string(1);
    const action = actionArg(a, 2);
    const seconds = a.isNil(3) ? 10 : secondsArg(a, 3);
    const mask = a.optInteger(4);
    const portMask = a.optInteger(5, 0);
    const tag = tagArg(a, 6, action);
    const range =
      address.bytes.length === 4
        ? ClientBlockRange.of(address.bytes, address.port, mask ?? 32, 128, portMask)
        : ClientBlockRange.of(address.bytes, address.port, 32, mask ?? 128, portMask);
    guard.checkRange(range, 'addDynamicBlock');
    const now = performance.now();
    blocks.addOrRefreshClientBlock(
      range,
      { reason, action, until: now + seconds * 1000, warning: false, tag },
      { now, seconds, kernelEligible: true, source: 'lua' },
    );
  });

  rt.registerFunction('showDynBlocks', () => {
    rt.print(showDynBlocks(blocks, performance.now()).replace(/\n$/, ''));
  });
  rt.registerFunction('clearDynBlocks', () => blocks.clear('lua'));

  rt.registerFunction('getDynamicBlocks', () => {
    const now = performance.now();
    const epoch = Date.now();
    return new Map(blocks.activeClientBlocks(now).map((b) => [b.keyText(), blockRecord(b, now, epoch)]));
  });
  rt.registerFunction('getDynamicBlocksSMT', () => {
    const now = performance.now();
    const epoch = Date.now();
    return new Map(blocks.activeSuffixBlocks(now).map((b) => [b.keyText(), blockRecord(b, now, epoch)]));
  });

  // ---- settings -------------------------------------------------------------
  rt.registerFunction('setDynBlocksAction', (a) => {
    const action = a.integer(0);
    if (env.configurationDone) {
      env.warn('Dynamic blocks action cannot be altered at runtime!');
      return;
    }
    if (!isDefaultActionChoice(action)) {
      env.warn(DEFAULT_ACTION_REFUSED_TEXT);
      return;
    }
    blocks.defaultAction = action;
  });
  rt.registerFunction('setDynBlocksPurgeInterval', (a) => {
    blocks.purgeIntervalSeconds = secondsArg(a, 0);
  });
  rt.registerFunction('setDynBlocksKernelOptions', (a) => {
    const o = new LuaOptions('setDynBlocksKernelOptions', a.table(0));
    const next = { ...blocks.kernel.options };
    for (const key of ['ranges', 'suffixes', 'skipUserspace', 'allowPass'] as const) {
      const v = o.boolean(key);
      if (v !== undefined) next[key] = v;
    }
    o.rejectUnknown();
    blocks.kernel.options = Object.freeze(next);
  });
  rt.registerFunction('setDynBlocksRangeLimits', (a) => {
    const o = new LuaOptions('setDynBlocksRangeLimits', a.table(0));
    const v4 = o.integer('v4');
    const v6 = o.integer('v6');
    const allowRootSuffix = o.boolean('allowRootSuffix');
    o.rejectUnknown();
    const now = guard.limits;
    guard.limits = { v4: v4 ?? now.v4, v6: v6 ?? now.v6, allowRootSuffix: allowRootSuffix ?? now.allowRootSuffix };
  });
  rt.registerFunction('setDynBlocksFastDetection', (a) => {
    const enabled = a.boolean(0);
    fast.enabled = enabled;
    check.observer = enabled ? fast : undefined;
  });
}
