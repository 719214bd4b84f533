/**
 * Calls into FFI-style Lua functions (LuaFFIAction, LuaFFIRule,
 * LuaFFIResponseAction, FFI server policies, setSuffixMatchRuleFFI
 * visitors) in one Lua state. The function gets an opaque pointer cdata
 * instead of a DNSQuestion object; like those objects it is one userdata
 * per state and kind, pointed at the current query for the call only.
 */
import { lauxlib, lua, to_luastring, type LuaState } from 'fengari';
import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import type { StatNode, StatNodeStats } from '@dnsdist-ts/dynblocks/dynblocks/stat-node.js';
import type { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import type { DNSResponse } from '@dnsdist-ts/dataplane/query/dns-response.js';
import { ScriptCallError, type ScriptResult } from '@dnsdist-ts/dataplane/rules/scripted/script-result.js';
import { RULE_CALL_TIME_LIMIT_MS } from '../lua-script-objects.js';
import type { LuaFunctionRef } from '../lua-runtime.js';
import { CData } from './ffi-cdata.js';
import { FfiQuestion, FfiServersList } from './ffi-handles.js';
import type { FfiModule } from './ffi-module.js';
import { FfiStatNode } from './ffi-stat-node.js';

const REGISTRY = lua.LUA_REGISTRYINDEX;
const HOOK_INSTRUCTIONS = 100_000;

interface Slot<T> {
  readonly handle: T;
  readonly ref: number;
}

export class FfiScriptCalls {
  readonly #ffi: FfiModule;
  readonly #L: LuaState;
  readonly #question: Slot<FfiQuestion>;
  readonly #response: Slot<FfiQuestion>;
  readonly #servers: Slot<FfiServersList>;
  readonly #statNode: Slot<FfiStatNode>;
  #deadline = 0;
  readonly #timeLimitHook = (L: LuaState): void => {
    if (performance.now() <= this.#deadline) return;
    lua.lua_pushstring(L, to_luastring(`the function ran for more than ${RULE_CALL_TIME_LIMIT_MS} ms (an endless loop?) and was stopped`));
    lua.lua_error(L);
  };

  constructor(ffi: FfiModule) {
    this.#ffi = ffi;
    this.#L = ffi.L;
    this.#question = this.#slot('dnsdist_ffi_dnsquestion_t', new FfiQuestion('DNSQuestion'));
    this.#response = this.#slot('dnsdist_ffi_dnsresponse_t', new FfiQuestion('DNSResponse'));
    this.#servers = this.#slot('dnsdist_ffi_servers_list_t', new FfiServersList());
    this.#statNode = this.#slot('dnsdist_ffi_stat_node_t', new FfiStatNode());
  }

  #slot<T extends object>(base: string, handle: T): Slot<T> {
    this.#ffi.pushCData(this.#L, CData.handle(base, handle));
    return { handle, ref: lauxlib.luaL_ref(this.#L, REGISTRY) };
  }

  /** The shared question slot, or a fresh one when a call is already using it. */
  #questionSlot(kind: 'DNSQuestion' | 'DNSResponse'): Slot<FfiQuestion> {
    const shared = kind === 'DNSQuestion' ? this.#question : this.#response;
    if (!shared.handle.view.attached) return shared;
    return this.#slot(kind === 'DNSQuestion' ? 'dnsdist_ffi_dnsquestion_t' : 'dnsdist_ffi_dnsresponse_t', new FfiQuestion(kind));
  }

  #release(slot: Slot<FfiQuestion>): void {
    slot.handle.detach();
    if (slot !== this.#question && slot !== this.#response) lauxlib.luaL_unref(this.#L, REGISTRY, slot.ref);
  }

  /** LuaFFIAction: `fn(dq)` returns an action code; the string comes from dnsdist_ffi_dnsquestion_set_result. */
  callAction(fn: LuaFunctionRef, dq: DNSQuestion, out: ScriptResult): void {
    const slot = this.#questionSlot('DNSQuestion');
    slot.handle.view.attachQuestion(dq);
    try {
      const base = this.#call(fn, [slot.ref], 1);
      out.code = this.#code(base, 'LuaFFIAction', 'DNSAction');
      out.text = slot.handle.result;
    } finally {
      this.#release(slot);
    }
  }

  /** LuaFFIResponseAction: `fn(dr)` returns a response action code. */
  callResponseAction(fn: LuaFunctionRef, dr: DNSResponse, out: ScriptResult): void {
    const slot = this.#questionSlot('DNSResponse');
    slot.handle.view.attachResponse(dr);
    try {
      const base = this.#call(fn, [slot.ref], 1);
      out.code = this.#code(base, 'LuaFFIResponseAction', 'DNSResponseAction');
      out.text = slot.handle.result;
    } finally {
      this.#release(slot);
    }
  }

  /** LuaFFIRule: `fn(dq)` returns true or false. */
  callRule(fn: LuaFunctionRef, dq: DNSQuestion | undefined, dr: DNSResponse | undefined): boolean {
    const slot = this.#questionSlot(dr ? 'DNSResponse' : 'DNSQuestion');
    if (dr) slot.handle.view.attachResponse(dr);
    else slot.handle.view.attachQuestion(dq!);
    try {
      const base = this.#call(fn, [slot.ref], 1);
      const L = this.#L;
      if (lua.lua_type(L, base + 1) !== lua.LUA_TBOOLEAN) {
        const got = typeName(L, base + 1);
        lua.lua_settop(L, base);
        throw new ScriptCallError(`LuaFFIRule: the function must return true or false, got ${got}`);
      }
      const matched = lua.lua_toboolean(L, base + 1);
      lua.lua_settop(L, base);
      return matched;
    } finally {
      this.#release(slot);
    }
  }

  /** An FFI server policy: `fn(servers_list, dq)` returns the 0-based index of the chosen server. */
  callPolicy(fn: LuaFunctionRef, servers: readonly DownstreamServer[], dq: DNSQuestion): DownstreamServer | undefined {
    const list = this.#servers.handle;
    if (list.attached) throw new ScriptCallError('an FFI server policy cannot run inside another one');
    const slot = this.#questionSlot('DNSQuestion');
    slot.handle.view.attachQuestion(dq);
    list.servers = servers;
    list.attached = true;
    try {
      const base = this.#call(fn, [this.#servers.ref, slot.ref], 1);
      const L = this.#L;
      if (lua.lua_type(L, base + 1) !== lua.LUA_TNUMBER) {
        const got = typeName(L, base + 1);
        lua.lua_settop(L, base);
        throw new ScriptCallError(`the FFI policy function must return a server index (0 to ${servers.length - 1}), got ${got}`);
      }
      const index = Math.trunc(lua.lua_tonumber(L, base + 1));
      lua.lua_settop(L, base);
      // As dnsdist: an index past the list selects no server.
      return index >= 0 ? servers[index] : undefined;
    } finally {
      list.attached = false;
      list.servers = [];
      this.#release(slot);
    }
  }

  /** A setSuffixMatchRuleFFI visitor: `fn(node)` returns true to block; the reason is what it set. */
  callStatVisitor(
    fn: LuaFunctionRef,
    node: StatNode,
    self: StatNodeStats,
    children: StatNodeStats,
  ): { block: boolean; reason: string | undefined } {
    const h = this.#statNode.handle;
    h.attach(node, self, children);
    try {
      const base = this.#call(fn, [this.#statNode.ref], 1);
      const block = lua.lua_toboolean(this.#L, base + 1);
      lua.lua_settop(this.#L, base);
      return { block, reason: h.reason };
    } finally {
      h.detach();
    }
  }

  #code(base: number, fn: string, constants: string): number {
    const L = this.#L;
    if (lua.lua_type(L, base + 1) !== lua.LUA_TNUMBER) {
      const got = typeName(L, base + 1);
      lua.lua_settop(L, base);
      throw new ScriptCallError(`${fn}: the function must return a ${constants} code (e.g. ${constants}.None), got ${got}`);
    }
    const code = lua.lua_tonumber(L, base + 1);
    lua.lua_settop(L, base);
    return code;
  }

  /** Call `fn(args…)` with the rule time limit; leaves `nresults` results above the returned base. */
  #call(fn: LuaFunctionRef, argRefs: readonly number[], nresults: number): number {
    const L = this.#L;
    const base = lua.lua_gettop(L);
    lua.lua_rawgeti(L, REGISTRY, fn.ref);
    for (const ref of argRefs) lua.lua_rawgeti(L, REGISTRY, ref);
    const previousHook = lua.lua_gethook(L);
    const previousMask = lua.lua_gethookmask(L);
    const previousCount = lua.lua_gethookcount(L);
    this.#deadline = performance.now() + RULE_CALL_TIME_LIMIT_MS;
    lua.lua_sethook(L, this.#timeLimitHook, lua.LUA_MASKCOUNT, HOOK_INSTRUCTIONS);
    const status = lua.lua_pcall(L, argRefs.length, nresults, 0);
    lua.lua_sethook(L, previousHook, previousMask, previousCount);
    if (status !== lua.LUA_OK) {
      const t = lua.lua_type(L, -1);
      const message =
        t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER ? lua.lua_tojsstring(L, -1) : `(error object is a ${typeName(L, -1)} value)`;
      lua.lua_settop(L, base);
      throw new ScriptCallError(message);
    }
    return base;
  }
}

function typeName(L: LuaState, idx: number): string {
  const t = lua.lua_type(L, idx);
  return t === lua.LUA_TNONE ? 'nothing' : Buffer.from(lua.lua_typename(L, t)).toString();
}
