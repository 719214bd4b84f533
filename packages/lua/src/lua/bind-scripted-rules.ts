import type { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import type { DNSResponse } from '@dnsdist-ts/dataplane/query/dns-response.js';
import { ScriptedAction } from '@dnsdist-ts/dataplane/rules/scripted/scripted-action.js';
import type { MatchScript, QueryScript, ResponseScript } from '@dnsdist-ts/dataplane/rules/scripted/script-function.js';
import type { ScriptResult } from '@dnsdist-ts/dataplane/rules/scripted/script-result.js';
import { ScriptedResponseAction } from '@dnsdist-ts/dataplane/rules/scripted/scripted-response-action.js';
import { ScriptedRule } from '@dnsdist-ts/dataplane/rules/scripted/scripted-rule.js';
import { LuaAction as LuaActionValue, LuaResponseAction as LuaResponseActionValue, LuaRule as LuaRuleValue } from './bind-rules.js';
import type { LuaArgs } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';
import type { LuaFunctionRef } from './lua-runtime.js';
import { LuaScriptObjects } from './lua-script-objects.js';

/** A Lua function behind a scripted rule: the rules call it through the script interfaces. */
class LuaScript implements QueryScript, ResponseScript, MatchScript {
  readonly #objects: LuaScriptObjects;
  /** Held so the function's registry slot lives as long as the rule. */
  readonly #fn: LuaFunctionRef;

  constructor(objects: LuaScriptObjects, fn: LuaFunctionRef) {
    this.#objects = objects;
    this.#fn = fn;
  }

  callQuery(dq: DNSQuestion, out: ScriptResult): void {
    this.#objects.callAction(this.#fn, dq, out);
  }

  callResponse(dr: DNSResponse, out: ScriptResult): void {
    this.#objects.callResponseAction(this.#fn, dr, out);
  }

  matchQuery(dq: DNSQuestion): boolean {
    return this.#objects.callRule(this.#fn, dq, undefined);
  }

  matchResponse(dr: DNSResponse): boolean {
    return this.#objects.callRule(this.#fn, undefined, dr);
  }
}

/**
 * LuaAction, LuaRule and LuaResponseAction: rules whose logic is a Lua
 * function of the DNSQuestion / DNSResponse (see lua-script-objects.ts for
 * what those objects cost and how long they stay valid).
 *
 * @returns the script objects, for other bindings that call Lua with a dq (server policies).
 */
export function registerScriptedRuleBindings(env: LuaEnvironment): LuaScriptObjects {
  const rt = env.runtime;
  const warn = (line: string): void => env.proxy.log.warn(line);
  const objects = new LuaScriptObjects(rt, warn);
  const script = (a: LuaArgs): LuaScript => new LuaScript(objects, a.function(0) as LuaFunctionRef);
  rt.registerFunction('LuaAction', (a) => new LuaActionValue(new ScriptedAction(script(a), warn)));
  rt.registerFunction('LuaRule', (a) => new LuaRuleValue(new ScriptedRule(script(a), warn)));
  rt.registerFunction('LuaResponseAction', (a) => new LuaResponseActionValue(new ScriptedResponseAction(script(a), warn)));
  return objects;
}
