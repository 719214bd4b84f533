/**
 * The DNSQuestion / DNSResponse objects a Lua rule function receives
 * (LuaAction, LuaRule, LuaResponseAction), and the calls into those
 * functions.
 *
 * Cost model: a query that never reaches a Lua rule pays nothing. A call
 * pushes the function and one userdata that already exists (one per
 * runtime and kind, pointed at the current query before the call and
 * detached after it) and reads the results off the stack: no table is
 * built and no field is computed up front. `dq.<field>` runs one
 * JS __index function that computes just that field (ScriptView.read).
 *
 * Keeping `dq` past the call (in a global, a closure): dnsdist hands out a
 * pointer that dangles once the call returns. Here the kept object is the
 * shared one: read outside any rule call it raises "only valid during the
 * call that received it"; read during a later call it shows that later
 * query. Copy the values instead (`local name = dq.qname:toString()`).
 */
import { DNSName } from '@dnsdist-ts/dns';
import { lauxlib, lua, to_luastring, type JsFunction, type LuaState } from 'fengari';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import type { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import type { DNSResponse } from '@dnsdist-ts/dataplane/query/dns-response.js';
import { NOT_A_FIELD, SCRIPT_HEADER_FLAGS, ScriptHeader, ScriptView } from '@dnsdist-ts/dataplane/query/script-view.js';
import { spoofFromString } from '@dnsdist-ts/dataplane/rules/scripted/scripted-action.js';
import { ScriptCallError, type ScriptResult } from '@dnsdist-ts/dataplane/rules/scripted/script-result.js';
import { SpoofAction } from '@dnsdist-ts/dataplane/rules/actions/spoof-action.js';
import { SpoofRawAction } from '@dnsdist-ts/dataplane/rules/actions/spoof-raw-action.js';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { LuaArgs } from './lua-args.js';
import { LuaBytes, luaStringValue } from './lua-bytes.js';
import { proxyProtocolValuesFromTable } from './lua-proxy-protocol-values.js';
import { LuaDNSName } from './lua-dns-name.js';
import type { LuaFunctionRef, LuaRuntime } from './lua-runtime.js';
import { LuaTable } from './lua-table.js';

/**
 * A rule function that runs longer than this is stopped with a Lua error
 * (then handled like any failing function: logged, SERVFAIL or no match).
 * The proxy has one event loop: an endless loop in a rule would otherwise
 * stop every query and the console for good. dnsdist has no such limit;
 * no sane rule function comes near it.
 */
export const RULE_CALL_TIME_LIMIT_MS = 1000;
/** VM instructions between two clock reads while a rule function runs (well under a millisecond of work). */
const HOOK_INSTRUCTIONS = 100_000;

/** Where our userdata keep their ScriptView (fengari userdata are JS objects). */
const VIEW_SLOT = 'dnsdistTsScriptView';
/** Where an EDNSOptionView userdata keeps its values. */
const OPTION_SLOT = 'dnsdistTsEdnsOptionValues';
const REGISTRY = lua.LUA_REGISTRYINDEX;

type Kind = 'DNSQuestion' | 'DNSResponse';

/** One userdata and the view it shows, held in the registry. */
interface ViewSlot {
  readonly view: ScriptView;
  readonly ref: number;
}

/** A view method: gets the view and the already-converted arguments; its result is pushed as one value. */
type ViewMethod = (view: ScriptView, args: LuaArgs) => unknown;

export class LuaScriptObjects {
  readonly #rt: LuaRuntime;
  readonly #L: LuaState;
  readonly #warn: (line: string) => void;
  readonly #metatableRefs = new Map<Kind, number>();
  readonly #shared = new Map<Kind, ViewSlot>();
  #trapWarned = false;
  /** Registry refs of the shared views' `dh` userdata. */
  readonly #headerRefs = new Map<ScriptHeader, number>();
  readonly #optionViewMetatableRef: number;
  /** When the running rule function has to stop (performance.now() clock). */
  #deadline = 0;
  readonly #timeLimitHook = (L: LuaState): void => {
    if (performance.now() <= this.#deadline) return;
    lua.lua_pushstring(L, to_luastring(`the function ran for more than ${RULE_CALL_TIME_LIMIT_MS} ms (an endless loop?) and was stopped`));
    lua.lua_error(L);
  };
  readonly #readOnlyWarned = new Set<string>();

  constructor(rt: LuaRuntime, warn: (line: string) => void) {
    this.#rt = rt;
    this.#L = rt.L;
    this.#warn = warn;
    const headerMethods: Record<string, (h: ScriptHeader, a: LuaArgs) => unknown> = {
      getID: (h) => h.getID(),
      setID: (h, a) => h.setID(a.integer(0)),
    };
    for (const [bit, flag] of Object.entries(SCRIPT_HEADER_FLAGS)) {
      headerMethods[`get${bit}`] = (h) => h.getFlag(flag);
      headerMethods[`set${bit}`] = (h, a) => h.setFlag(flag, a.boolean(0));
    }
    rt.defineClass(ScriptHeader, 'DNSHeader', headerMethods);
    this.#optionViewMetatableRef = this.#defineOptionView();
    this.#defineKind('DNSQuestion', this.#questionMethods());
    this.#defineKind('DNSResponse', { ...this.#questionMethods(), ...this.#responseMethods() });
    this.#shared.set('DNSQuestion', this.#newSlot('DNSQuestion'));
    this.#shared.set('DNSResponse', this.#newSlot('DNSResponse'));
  }

  /** Call `fn(dq)` as LuaAction does; fills `out` with the action code and optional string. */
  callAction(fn: LuaFunctionRef, dq: DNSQuestion, out: ScriptResult): void {
    const slot = this.#acquire('DNSQuestion');
    slot.view.attachQuestion(dq);
    try {
      const base = this.#call(fn, slot, 2);
      this.#readActionResult(base, out, 'LuaAction', 'DNSAction');
    } finally {
      this.#release(slot, 'DNSQuestion');
    }
  }

  /** Call `fn(dr)` as LuaResponseAction does. */
  callResponseAction(fn: LuaFunctionRef, dr: DNSResponse, out: ScriptResult): void {
    const slot = this.#acquire('DNSResponse');
    slot.view.attachResponse(dr);
    try {
      const base = this.#call(fn, slot, 2);
      this.#readActionResult(base, out, 'LuaResponseAction', 'DNSResponseAction');
    } finally {
      this.#release(slot, 'DNSResponse');
    }
  }

  /** Call a LuaRule function with a question (query chains) or a response (response chains). */
  callRule(fn: LuaFunctionRef, dq: DNSQuestion | undefined, dr: DNSResponse | undefined): boolean {
    const kind: Kind = dr ? 'DNSResponse' : 'DNSQuestion';
    const slot = this.#acquire(kind);
    if (dr) slot.view.attachResponse(dr);
    else slot.view.attachQuestion(dq!);
    try {
      const base = this.#call(fn, slot, 1);
      const L = this.#L;
      const t = lua.lua_type(L, base + 1);
      if (t !== lua.LUA_TBOOLEAN) {
        lua.lua_settop(L, base);
        throw new ScriptCallError(`the function must return true or false, got ${typeName(L, t)}`);
      }
      const matched = lua.lua_toboolean(L, base + 1);
      lua.lua_settop(L, base);
      return matched;
    } finally {
      this.#release(slot, kind);
    }
  }

  /**
   * Call a server policy function `fn(servers, dq)`: `servers` goes in as a
   * fresh 1-based table each call (the function may sort or trim it).
   * Returns what the function returned, converted (a server, or undefined).
   */
  callPolicy(fn: LuaFunctionRef, servers: readonly object[], dq: DNSQuestion): unknown {
    const slot = this.#acquire('DNSQuestion');
    slot.view.attachQuestion(dq);
    try {
      const base = this.#call(fn, slot, 1, servers);
      const result = this.#rt.toJs(base + 1);
      lua.lua_settop(this.#L, base);
      return result;
    } finally {
      this.#release(slot, 'DNSQuestion');
    }
  }

  /** A userdata showing `view`, for callers (server policies) that pass it along with other arguments. */
  pushView(kind: Kind, view: ScriptView): void {
    const L = this.#L;
    const ud = lua.lua_newuserdata(L, 0);
    ud[VIEW_SLOT] = view;
    lua.lua_rawgeti(L, REGISTRY, this.#metatableRefs.get(kind)!);
    lua.lua_setmetatable(L, -2);
  }

  /** Call `fn([first,] dq)`; leaves `nresults` results above the returned stack base. */
  #call(fn: LuaFunctionRef, slot: ViewSlot, nresults: number, first?: unknown): number {
    const L = this.#L;
    const base = lua.lua_gettop(L);
    lua.lua_rawgeti(L, REGISTRY, fn.ref);
    if (first !== undefined) this.#rt.push(first);
    lua.lua_rawgeti(L, REGISTRY, slot.ref);
    // Another hook (a console time limit) is put back afterwards.
    const previousHook = lua.lua_gethook(L);
    const previousMask = lua.lua_gethookmask(L);
    const previousCount = lua.lua_gethookcount(L);
    this.#deadline = performance.now() + RULE_CALL_TIME_LIMIT_MS;
    lua.lua_sethook(L, this.#timeLimitHook, lua.LUA_MASKCOUNT, HOOK_INSTRUCTIONS);
    const status = lua.lua_pcall(L, first === undefined ? 1 : 2, nresults, 0);
    lua.lua_sethook(L, previousHook, previousMask, previousCount);
    if (status !== lua.LUA_OK) {
      const message = errorText(L, -1);
      lua.lua_settop(L, base);
      throw new ScriptCallError(message);
    }
    return base;
  }

  #readActionResult(base: number, out: ScriptResult, fn: string, constants: string): void {
    const L = this.#L;
    const t = lua.lua_type(L, base + 1);
    if (t !== lua.LUA_TNUMBER) {
      lua.lua_settop(L, base);
      throw new ScriptCallError(
        `${fn}: the function must return a ${constants} code first (e.g. ${constants}.None), got ${typeName(L, t)}`,
      );
    }
    out.code = lua.lua_tonumber(L, base + 1);
    const t2 = lua.lua_type(L, base + 2);
    if (t2 === lua.LUA_TSTRING || t2 === lua.LUA_TNUMBER) {
      // LuaAction's raw record data is bytes, not UTF-8 text ("\192\000\002\001").
      if (out.code === DNSAction.SpoofRaw && fn === 'LuaAction') out.bytes = lua.lua_tostring(L, base + 2);
      else out.text = lua.lua_tojsstring(L, base + 2);
    }
    lua.lua_settop(L, base);
  }

  /** The shared slot, or a fresh one when the shared one is in use (a rule function running inside another). */
  #acquire(kind: Kind): ViewSlot {
    const shared = this.#shared.get(kind)!;
    return shared.view.attached ? this.#newSlot(kind) : shared;
  }

  #release(slot: ViewSlot, kind: Kind): void {
    slot.view.detach();
    if (slot !== this.#shared.get(kind)) lauxlib.luaL_unref(this.#L, REGISTRY, slot.ref);
  }

  #newSlot(kind: Kind): ViewSlot {
    const view = new ScriptView(kind);
    this.pushView(kind, view);
    return { view, ref: lauxlib.luaL_ref(this.#L, REGISTRY) };
  }

  /** Build the metatable of one kind: __index for fields then methods, __newindex for the writable fields. */
  #defineKind(kind: Kind, methods: Record<string, ViewMethod>): void {
    const L = this.#L;
    lua.lua_createtable(L, 0, Object.keys(methods).length);
    for (const [name, impl] of Object.entries(methods)) {
      lua.lua_pushjsfunction(L, this.#methodFunction(kind, name, impl));
      lua.lua_setfield(L, -2, to_luastring(name));
    }
    // Raw methods: their values are byte strings, which the generic conversion would re-encode.
    lua.lua_pushjsfunction(
      L,
      this.#guard(`${kind}:getContent`, (l) => {
        const view = viewAt(l, 1, kind, 'getContent');
        lua.lua_pushstring(l, view.packet().subarray(0, view.packetLength()));
        return 1;
      }),
    );
    lua.lua_setfield(L, -2, to_luastring('getContent'));
    lua.lua_pushjsfunction(
      L,
      this.#guard(`${kind}:setContent`, (l) => {
        const view = viewAt(l, 1, kind, 'setContent');
        if (lua.lua_type(l, 2) !== lua.LUA_TSTRING)
          throw new Error(`${kind}:setContent: argument #1 must be a string (the whole DNS message)`);
        setContent(view, Buffer.from(lua.lua_tostring(l, 2)));
        return 0;
      }),
    );
    lua.lua_setfield(L, -2, to_luastring('setContent'));
    lua.lua_pushjsfunction(
      L,
      this.#guard(`${kind}:getTrailingData`, (l) => {
        lua.lua_pushstring(l, viewAt(l, 1, kind, 'getTrailingData').getTrailingData());
        return 1;
      }),
    );
    lua.lua_setfield(L, -2, to_luastring('getTrailingData'));
    lua.lua_pushjsfunction(
      L,
      this.#guard(`${kind}:setTrailingData`, (l) => {
        const view = viewAt(l, 1, kind, 'setTrailingData');
        if (lua.lua_type(l, 2) !== lua.LUA_TSTRING) throw new Error(`${kind}:setTrailingData: argument #1 must be a string`);
        lua.lua_pushboolean(l, view.setTrailingData(lua.lua_tostring(l, 2)));
        return 1;
      }),
    );
    lua.lua_setfield(L, -2, to_luastring('setTrailingData'));
    lua.lua_pushjsfunction(
      L,
      this.#guard(`${kind}:getEDNSOptions`, (l) => {
        const options = viewAt(l, 1, kind, 'getEDNSOptions').ednsOptions();
        lua.lua_createtable(l, 0, options.size);
        for (const [code, values] of options) {
          lua.lua_pushinteger(l, code);
          const ud = lua.lua_newuserdata(l, 0);
          ud[OPTION_SLOT] = values;
          lua.lua_rawgeti(l, REGISTRY, this.#optionViewMetatableRef);
          lua.lua_setmetatable(l, -2);
          lua.lua_rawset(l, -3);
        }
        return 1;
      }),
    );
    lua.lua_setfield(L, -2, to_luastring('getEDNSOptions'));
    const methodsRef = lauxlib.luaL_ref(L, REGISTRY);

    lua.lua_createtable(L, 0, 3);
    lua.lua_pushjsfunction(
      L,
      this.#guard(`${kind}.__index`, (l) => {
        const view = viewAt(l, 1, kind, '__index');
        if (lua.lua_type(l, 2) !== lua.LUA_TSTRING) {
          lua.lua_pushnil(l);
          return 1;
        }
        const value = view.read(keyAt(l, 2));
        if (value === NOT_A_FIELD) {
          lua.lua_rawgeti(l, REGISTRY, methodsRef);
          lua.lua_pushvalue(l, 2);
          lua.lua_rawget(l, -2);
          return 1;
        }
        if (value instanceof ScriptHeader) {
          this.#pushHeader(l, value);
          return 1;
        }
        this.#pushValue(l, value);
        return 1;
      }),
    );
    lua.lua_setfield(L, -2, to_luastring('__index'));
    lua.lua_pushjsfunction(
      L,
      this.#guard(`${kind}.__newindex`, (l) => {
        const view = viewAt(l, 1, kind, '__newindex');
        const key = lua.lua_type(l, 2) === lua.LUA_TSTRING ? lua.lua_tojsstring(l, 2) : '?';
        if (!view.write(key, this.#rt.toJs(3)) && !this.#readOnlyWarned.has(key)) {
          this.#readOnlyWarned.add(key);
          this.#warn(`${kind}.${key} is read-only: the assignment is ignored, as in dnsdist (logged once)`);
        }
        return 0;
      }),
    );
    lua.lua_setfield(L, -2, to_luastring('__newindex'));
    lua.lua_pushjsfunction(L, () => {
      lua.lua_pushstring(L, to_luastring(kind));
      return 1;
    });
    lua.lua_setfield(L, -2, to_luastring('__tostring'));
    this.#metatableRefs.set(kind, lauxlib.luaL_ref(L, REGISTRY));
  }

  /**
   * dnsdist's EDNSOptionView (`dq:getEDNSOptions()[code]`): `count()` and
   * `getValues()`, the values as byte strings (hence raw functions: the
   * generic conversion would re-encode bytes above 0x7f).
   */
  #defineOptionView(): number {
    const L = this.#L;
    const valuesAt = (l: LuaState): Buffer[] => {
      const data = lua.lua_type(l, 1) === lua.LUA_TUSERDATA ? lua.lua_touserdata(l, 1) : null;
      const values = data?.[OPTION_SLOT];
      if (!Array.isArray(values)) throw new Error("EDNSOptionView: call its methods with ':' (opt:count(), opt:getValues())");
      return values as Buffer[];
    };
    lua.lua_createtable(L, 0, 2);
    lua.lua_createtable(L, 0, 2);
    lua.lua_pushjsfunction(
      L,
      this.#guard('EDNSOptionView:count', (l) => {
        lua.lua_pushinteger(l, valuesAt(l).length);
        return 1;
      }),
    );
    lua.lua_setfield(L, -2, to_luastring('count'));
    lua.lua_pushjsfunction(
      L,
      this.#guard('EDNSOptionView:getValues', (l) => {
        const values = valuesAt(l);
        lua.lua_createtable(l, values.length, 0);
        values.forEach((v, i) => {
          lua.lua_pushstring(l, v);
          lua.lua_rawseti(l, -2, i + 1);
        });
        return 1;
      }),
    );
    lua.lua_setfield(L, -2, to_luastring('getValues'));
    lua.lua_setfield(L, -2, to_luastring('__index'));
    return lauxlib.luaL_ref(L, REGISTRY);
  }

  #methodFunction(kind: Kind, name: string, impl: ViewMethod): JsFunction {
    const fn = `${kind}:${name}`;
    return this.#guard(fn, (l) => {
      const view = viewAt(l, 1, kind, name);
      const n = lua.lua_gettop(l);
      const values = new Array(Math.max(0, n - 1));
      for (let i = 2; i <= n; i++) values[i - 2] = this.#rt.toJs(i);
      const result = impl(view, new LuaArgs(fn, values));
      if (result === undefined) return 0;
      this.#pushValue(l, result);
      return 1;
    });
  }

  /** Turn a JS exception into a Lua error at the calling line (as the runtime's bindings do). */
  #guard(fn: string, body: JsFunction): JsFunction {
    return (l) => {
      if (l !== this.#L) {
        lua.lua_pushstring(l, to_luastring(`${fn}: DNSQuestion objects cannot be used from a coroutine`));
        return lua.lua_error(l);
      }
      let failure: string;
      try {
        return body(l);
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
      }
      lauxlib.luaL_where(l, 1);
      const where = lua.lua_tojsstring(l, -1);
      lua.lua_pop(l, 1);
      lua.lua_pushstring(l, to_luastring(`${where}${failure}`));
      return lua.lua_error(l);
    };
  }

  /**
   * `dq.dh`: a view's header object never changes (it reads whatever the view
   * is attached to), so the shared views keep its userdata in the registry
   * instead of making one per read.
   */
  #pushHeader(L: LuaState, header: ScriptHeader): void {
    let ref = this.#headerRefs.get(header);
    if (ref === undefined) {
      this.#rt.push(header);
      const shared = [...this.#shared.values()].some((slot) => slot.view.header === header);
      if (!shared) return;
      ref = lauxlib.luaL_ref(L, REGISTRY);
      this.#headerRefs.set(header, ref);
    }
    lua.lua_rawgeti(L, REGISTRY, ref);
  }

  #pushValue(L: LuaState, value: unknown): void {
    if (typeof value === 'number') {
      lua.lua_pushinteger(L, value);
      return;
    }
    if (typeof value === 'boolean') {
      lua.lua_pushboolean(L, value);
      return;
    }
    this.#rt.push(value instanceof DNSName ? new LuaDNSName(value) : value);
  }

  #questionMethods(): Record<string, ViewMethod> {
    return {
      getTag: (v, a) => v.getTag(a.string(0)) ?? '',
      setTag: (v, a) => v.setTag(a.string(0), a.string(1)),
      getTagArray: (v) => v.getTagArray(),
      setTagArray: (v, a) => {
        const pairs: [string, string][] = [];
        for (const [k, val] of a.table(0).entries) {
          if (typeof k !== 'string' || typeof val !== 'string') return a.fail(0, 'a table of tag names to string values');
          pairs.push([k, val]);
        }
        v.setTagArray(pairs);
      },
      getProxyProtocolValues: (v) => {
        const out = new Map<number, LuaBytes | string>();
        for (const pv of v.question().proxyProtocolValues ?? []) out.set(pv.type, luaStringValue(pv.value));
        return out;
      },
      addProxyProtocolValue: (v, a) => {
        const type = a.integer(0);
        if (type < 0 || type > 255) return a.fail(0, 'a proxy protocol value type from 0 to 255');
        (v.question().proxyProtocolValues ??= []).push({ type, value: a.bytes(1) });
      },
      setProxyProtocolValues: (v, a) => {
        v.question().proxyProtocolValues = proxyProtocolValuesFromTable('setProxyProtocolValues', a.table(0));
      },
      getDO: (v) => v.getDO(),
      getProtocol: (v) => v.getProtocol(),
      getHTTPPath: (v) => v.getHTTPPath(),
      getHTTPQueryString: (v) => v.getHTTPQueryString(),
      getHTTPHost: (v) => v.getHTTPHost(),
      getHTTPScheme: (v) => v.getHTTPScheme(),
      getHTTPHeaders: (v) => v.getHTTPHeaders(),
      setHTTPResponse: (v, a) => v.setHTTPResponse(a.integer(0), Buffer.from(a.bytes(1)), a.optString(2, '') ?? ''),
      getServerNameIndication: (v) => v.getServerNameIndication(),
      sendTrap: (v, a) => {
        v.question();
        if (!this.#trapWarned) {
          this.#trapWarned = true;
          this.#warn(`sendTrap(${a.optString(0, '')}): SNMP is not enabled in dnsdist-ts, no trap is sent (logged once)`);
        }
      },
      spoof: (v, a) => {
        const dq = v.question();
        const target = a.raw(0);
        if (!(target instanceof LuaTable)) {
          spoofFromString(dq, a.string(0));
          return;
        }
        // As dnsdist: a table of ComboAddresses answers A/AAAA, a table of strings is raw record data.
        const items = target.values();
        if (items.length > 0 && items.every((x) => x instanceof SocketAddress)) {
          new SpoofAction(items.map((x) => (x as SocketAddress).bytes)).apply(dq);
        } else {
          new SpoofRawAction(a.bytesOrBytesList(0)).apply(dq);
        }
      },
    };
  }

  #responseMethods(): Record<string, ViewMethod> {
    return {
      editTTLs: (v, a) => {
        const fn = a.function(0);
        v.editTTLs((section, qclass, qtype, ttl) => {
          const [r] = fn.call(section, qclass, qtype, ttl);
          return typeof r === 'number' ? r : undefined;
        });
      },
    };
  }
}

/**
 * Field names as JS strings, by the identity of Lua's byte array: a field
 * name written in a script is one interned constant, so after its first
 * read `dq.qtype` costs a WeakMap lookup instead of a UTF-8 decode.
 */
const keyNames = new WeakMap<Uint8Array, string>();

function keyAt(L: LuaState, idx: number): string {
  const bytes = lua.lua_tostring(L, idx);
  let name = keyNames.get(bytes);
  if (name === undefined) {
    name = lua.lua_tojsstring(L, idx);
    keyNames.set(bytes, name);
  }
  return name;
}

function viewAt(L: LuaState, idx: number, kind: Kind, what: string): ScriptView {
  const data = lua.lua_type(L, idx) === lua.LUA_TUSERDATA ? lua.lua_touserdata(L, idx) : null;
  const view = data?.[VIEW_SLOT];
  if (!(view instanceof ScriptView)) throw new Error(`${kind}:${what}: call it with ':' on a ${kind} (dq:${what}(...))`);
  return view;
}

function typeName(L: LuaState, t: number): string {
  return t === lua.LUA_TNONE ? 'nothing' : lua.lua_typename(L, t) ? String.fromCharCode(...lua.lua_typename(L, t)) : 'unknown';
}

function errorText(L: LuaState, idx: number): string {
  const t = lua.lua_type(L, idx);
  if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) return lua.lua_tojsstring(L, idx);
  return `(error object is a ${typeName(L, t)} value)`;
}

/** dq:setContent / dr:setContent: replace the whole message. */
function setContent(view: ScriptView, bytes: Buffer): void {
  const dr = view.response();
  if (dr) {
    dr.packet = bytes;
    dr.length = bytes.length;
    return;
  }
  view.question().replacePacket(bytes);
}
