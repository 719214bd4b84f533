import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import type { BalancingFactors } from '@dnsdist-ts/dataplane/backend/policies/balancing-factors.js';
import { ScriptedPolicy, type PolicyScript } from '@dnsdist-ts/dataplane/backend/policies/scripted-policy.js';
import type { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import type { DNSResponse } from '@dnsdist-ts/dataplane/query/dns-response.js';
import type { MatchScript, QueryScript, ResponseScript } from '@dnsdist-ts/dataplane/rules/scripted/script-function.js';
import type { ScriptResult } from '@dnsdist-ts/dataplane/rules/scripted/script-result.js';
import { ScriptedAction } from '@dnsdist-ts/dataplane/rules/scripted/scripted-action.js';
import { ScriptedResponseAction } from '@dnsdist-ts/dataplane/rules/scripted/scripted-response-action.js';
import { ScriptedRule } from '@dnsdist-ts/dataplane/rules/scripted/scripted-rule.js';
import { registerConstants } from './bind-constants.js';
import { EDNS_OPTION_CODES } from './bind-rules-more.js';
import { LuaAction, LuaResponseAction, LuaRule } from './bind-rules.js';
import { dnsdistFfiFunctions } from './ffi/ffi-dnsdist-functions.js';
import { FfiModule } from './ffi/ffi-module.js';
import { FfiScriptCalls } from './ffi/ffi-script-calls.js';
import type { LuaArgs } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';
import { LuaFunctionRef, LuaRuntime } from './lua-runtime.js';

/** An FFI-style Lua function (it gets dnsdist's opaque pointers) behind the scripted rules and policies. */
class FfiScript implements QueryScript, ResponseScript, MatchScript, PolicyScript {
  readonly #calls: FfiScriptCalls;
  readonly #fn: LuaFunctionRef;

  constructor(calls: FfiScriptCalls, fn: LuaFunctionRef) {
    this.#calls = calls;
    this.#fn = fn;
  }

  callQuery(dq: DNSQuestion, out: ScriptResult): void {
    this.#calls.callAction(this.#fn, dq, out);
  }

  callResponse(dr: DNSResponse, out: ScriptResult): void {
    this.#calls.callResponseAction(this.#fn, dr, out);
  }

  matchQuery(dq: DNSQuestion): boolean {
    return this.#calls.callRule(this.#fn, dq, undefined);
  }

  matchResponse(dr: DNSResponse): boolean {
    return this.#calls.callRule(this.#fn, undefined, dr);
  }

  choose(servers: readonly DownstreamServer[], dq: DNSQuestion): DownstreamServer | undefined {
    return this.#calls.callPolicy(this.#fn, servers, dq);
  }
}

/** The `ffi` module and the FFI call machinery of one Lua state. */
function ffiFor(rt: LuaRuntime, warn: (line: string) => void, factors: BalancingFactors): FfiScriptCalls {
  return new FfiScriptCalls(new FfiModule(rt.L, dnsdistFfiFunctions(warn, factors)));
}

/**
 * The *PerThread* forms: the code (a string) runs in a Lua state of its own
 * and must return the function. dnsdist makes one such state per thread;
 * dnsdist-ts has one event loop, so it makes one per object now, and will
 * make one per worker once queries run on several. Nothing is shared with
 * the configuration's state: the code sees dnsdist's constants (DNSAction,
 * DNSQType…) and `require("ffi")`, not the configuration's globals.
 */
function perThreadScript(env: LuaEnvironment, fn: string, code: string, warn: (line: string) => void): FfiScript {
  const rt = new LuaRuntime((line) => env.runtime.print(line));
  registerConstants(rt);
  rt.setGlobal('EDNSOptionCode', new Map(Object.entries(EDNS_OPTION_CODES)));
  const calls = ffiFor(rt, warn, env.proxy.settings.balancingFactors);
  let results: unknown[];
  try {
    results = rt.runString(code, fn);
  } catch (err) {
    return env.fail(`${fn}: the code failed to run in its own Lua state: ${(err as Error).message}`);
  }
  const f = results[0];
  if (!(f instanceof LuaFunctionRef)) {
    return env.fail(
      `${fn}: the code must return a function (e.g. "return function(dq) ... end"), it returned ${results.length === 0 ? 'nothing' : typeof f}`,
    );
  }
  return new FfiScript(calls, f);
}

/**
 * dnsdist's LuaFFI* functions over the `ffi` compatibility module:
 * LuaFFIAction, LuaFFIRule, LuaFFIResponseAction, their PerThread forms,
 * setServerPolicyLuaFFI(PerThread) and setPoolServerPolicyLuaFFI(PerThread). Also
 * makes `require("ffi")` work in the configuration and the console.
 *
 * @returns the configuration state's FFI calls (setSuffixMatchRuleFFI uses them).
 */
export function registerFfiBindings(env: LuaEnvironment): FfiScriptCalls {
  const rt = env.runtime;
  const warn = (line: string): void => env.proxy.log.warn(line);
  const calls = ffiFor(rt, warn, env.proxy.settings.balancingFactors);
  const script = (a: LuaArgs): FfiScript => new FfiScript(calls, a.function(0) as LuaFunctionRef);
  const threaded = (fn: string, a: LuaArgs, i = 0): FfiScript => perThreadScript(env, fn, a.string(i), warn);

  rt.registerFunction('LuaFFIAction', (a) => new LuaAction(new ScriptedAction(script(a), warn, 'LuaFFIAction')));
  rt.registerFunction('LuaFFIRule', (a) => new LuaRule(new ScriptedRule(script(a), warn, 'LuaFFIRule')));
  rt.registerFunction(
    'LuaFFIResponseAction',
    (a) => new LuaResponseAction(new ScriptedResponseAction(script(a), warn, 'LuaFFIResponseAction')),
  );
  rt.registerFunction(
    'LuaFFIPerThreadAction',
    (a) => new LuaAction(new ScriptedAction(threaded('LuaFFIPerThreadAction', a), warn, 'LuaFFIPerThreadAction')),
  );
  rt.registerFunction(
    'LuaFFIPerThreadRule',
    (a) => new LuaRule(new ScriptedRule(threaded('LuaFFIPerThreadRule', a), warn, 'LuaFFIPerThreadRule')),
  );
  rt.registerFunction(
    'LuaFFIPerThreadResponseAction',
    (a) =>
      new LuaResponseAction(
        new ScriptedResponseAction(threaded('LuaFFIPerThreadResponseAction', a), warn, 'LuaFFIPerThreadResponseAction'),
      ),
  );

  const policy = (name: string, s: FfiScript): ScriptedPolicy => new ScriptedPolicy(name, s, warn);
  rt.registerFunction('setServerPolicyLuaFFI', (a) => {
    env.proxy.defaultPolicy = policy(a.string(0), new FfiScript(calls, a.function(1) as LuaFunctionRef));
  });
  rt.registerFunction('setServerPolicyLuaFFIPerThread', (a) => {
    env.proxy.defaultPolicy = policy(a.string(0), threaded('setServerPolicyLuaFFIPerThread', a, 1));
  });
  rt.registerFunction('setPoolServerPolicyLuaFFI', (a) => {
    env.proxy.getOrCreatePool(a.string(2)).policy = policy(a.string(0), new FfiScript(calls, a.function(1) as LuaFunctionRef));
  });
  rt.registerFunction('setPoolServerPolicyLuaFFIPerThread', (a) => {
    env.proxy.getOrCreatePool(a.string(2)).policy = policy(a.string(0), threaded('setPoolServerPolicyLuaFFIPerThread', a, 1));
  });
  return calls;
}
