import { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import { ScriptedPolicy, type PolicyScript } from '@dnsdist-ts/dataplane/backend/policies/scripted-policy.js';
import type { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import { LuaServerPolicy } from './bind-servers.js';
import type { LuaArgs } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';
import type { LuaFunctionRef } from './lua-runtime.js';
import type { LuaScriptObjects } from './lua-script-objects.js';

/** A Lua function as a server policy's chooser. */
class LuaPolicyScript implements PolicyScript {
  readonly #objects: LuaScriptObjects;
  readonly #fn: LuaFunctionRef;
  readonly #name: string;

  constructor(objects: LuaScriptObjects, fn: LuaFunctionRef, name: string) {
    this.#objects = objects;
    this.#fn = fn;
    this.#name = name;
  }

  choose(servers: readonly DownstreamServer[], dq: DNSQuestion): DownstreamServer | undefined {
    const chosen = this.#objects.callPolicy(this.#fn, servers, dq);
    if (chosen === undefined || chosen instanceof DownstreamServer) return chosen;
    throw new Error(`the policy function '${this.#name}' must return a server (one of the servers it was given) or nil`);
  }
}

/**
 * newServerPolicy, setServerPolicyLua, setPoolServerPolicyLua: server
 * selection written in Lua, `function(servers, dq) return servers[1] end`.
 */
export function registerScriptedPolicyBindings(env: LuaEnvironment, objects: LuaScriptObjects): void {
  const rt = env.runtime;
  const proxy = env.proxy;
  const warn = (line: string): void => proxy.log.warn(line);
  const make = (a: LuaArgs): ScriptedPolicy => {
    const name = a.string(0);
    return new ScriptedPolicy(name, new LuaPolicyScript(objects, a.function(1) as LuaFunctionRef, name), warn);
  };
  rt.registerFunction('newServerPolicy', (a) => new LuaServerPolicy(make(a)));
  rt.registerFunction('setServerPolicyLua', (a) => {
    proxy.defaultPolicy = make(a);
  });
  rt.registerFunction('setPoolServerPolicyLua', (a) => {
    proxy.getOrCreatePool(a.string(2)).policy = make(a);
  });
}
