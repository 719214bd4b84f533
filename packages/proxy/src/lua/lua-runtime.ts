import { readFileSync } from 'node:fs';
import { lauxlib, lua, lualib, to_luastring, type LuaState } from 'fengari';
import { LuaBytes, luaStringValue } from './lua-bytes.js';
import { LuaArgs } from './lua-args.js';
import { LuaBindingError, LuaScriptError } from './lua-errors.js';
import { LuaMultipleValues } from './lua-multiple-values.js';
import { LuaTable, type LuaFunctionLike, type LuaValue } from './lua-table.js';
import { LUAJIT_COMPAT_PRELUDE } from './luajit-compat-prelude.js';

/** A binding: receives converted arguments, returns a value (or LuaMultipleValues). */
export type LuaBinding = (args: LuaArgs) => unknown;

/** Methods of a userdata class; `self` is the wrapped TS object. */
export type LuaMethods<T> = Record<string, (self: T, args: LuaArgs) => unknown>;

interface ClassInfo {
  name: string;
  metatable: Uint8Array;
}

type Ctor = abstract new (...args: never[]) => object;

const OBJECT_SLOT = 'dnsdistTsObject';

/** A Lua function held by JS (a registry reference), callable from bindings. */
export class LuaFunctionRef implements LuaFunctionLike {
  readonly #runtime: LuaRuntime;
  readonly ref: number;
  constructor(runtime: LuaRuntime, ref: number) {
    this.#runtime = runtime;
    this.ref = ref;
  }

  /** Call it; Lua errors come back as LuaScriptError. */
  call(...args: unknown[]): unknown[] {
    return this.#runtime.callRef(this.ref, args);
  }
}

/**
 * One Lua state (fengari, Lua 5.3) with dnsdist's functions registered by
 * the binding modules in this folder. Knows how to move values across,
 * wrap TS objects as userdata, and report errors with file and line.
 */
export class LuaRuntime {
  readonly L: LuaState;
  readonly #classes = new Map<Ctor, ClassInfo>();
  /** Where `print` goes: a console command's reply buffer, or the output sink. */
  #printCapture: string[] | undefined;
  #closed = false;
  /** Releases the registry slot of a Lua function once JS no longer holds it (finalizers run between tasks, never inside a Lua call). */
  readonly #functionRefs = new FinalizationRegistry<number>((ref) => {
    if (!this.#closed) lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, ref);
  });
  #output: (line: string) => void;

  constructor(output: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {
    this.#output = output;
    this.L = lauxlib.luaL_newstate();
    lualib.luaL_openlibs(this.L);
    this.registerFunction('print', (args) => {
      const parts: string[] = [];
      for (let i = 0; i < args.values.length; i++) parts.push(this.#displayString(args.values[i]));
      this.print(parts.join('\t'));
      return undefined;
    });
    this.runString(LUAJIT_COMPAT_PRELUDE, 'luajit-compat-prelude');
  }

  /** Print as Lua's print would, honouring console capture. */
  print(line: string): void {
    if (this.#printCapture) this.#printCapture.push(line);
    else this.#output(line);
  }

  setOutput(output: (line: string) => void): void {
    this.#output = output;
  }

  #displayString(v: LuaValue): string {
    if (v === undefined) return 'nil';
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return formatLuaNumber(v);
    if (typeof v === 'boolean') return String(v);
    if (v instanceof LuaTable) return 'table';
    if (typeof v === 'object' && v !== null && typeof (v as { toString?: unknown }).toString === 'function') {
      const s = (v as { toString(): string }).toString();
      if (s !== '[object Object]') return s;
    }
    return 'userdata';
  }

  /** Register a global function. */
  registerFunction(name: string, fn: LuaBinding): void {
    this.#pushBinding(name, fn);
    lua.lua_setglobal(this.L, to_luastring(name));
  }

  /** Set a global to a value (tables for constants such as DNSAction). */
  setGlobal(name: string, value: unknown): void {
    this.push(value);
    lua.lua_setglobal(this.L, to_luastring(name));
  }

  /** Is a global a function? (dnsdist calls `maintenance()` only when the config defines it.) */
  hasFunction(name: string): boolean {
    const t = lua.lua_getglobal(this.L, to_luastring(name));
    lua.lua_pop(this.L, 1);
    return t === lua.LUA_TFUNCTION;
  }

  /**
   * Declare how instances of a TS class appear in Lua: `obj:method(...)`
   * calls `methods[method](obj, args)`; `tostring(obj)` uses `toString`.
   */
  defineClass<T extends object>(ctor: abstract new (...args: never[]) => T, name: string, methods: LuaMethods<T>): void {
    const L = this.L;
    const mtName = to_luastring(`dnsdist-ts.${name}`);
    lauxlib.luaL_newmetatable(L, mtName);
    lua.lua_newtable(L);
    for (const [method, impl] of Object.entries(methods)) {
      this.#pushBinding(`${name}:${method}`, (args) => {
        const self = args.values[0];
        if (!(self instanceof ctor)) {
          throw new LuaBindingError(`${name}:${method}: call it with ':' on a ${name} (obj:${method}(...))`);
        }
        return impl(self, new LuaArgs(`${name}:${method}`, args.values.slice(1)));
      });
      lua.lua_setfield(L, -2, to_luastring(method));
    }
    lua.lua_setfield(L, -2, to_luastring('__index'));
    this.#pushBinding(`${name}:__tostring`, (args) => String(args.values[0]));
    lua.lua_setfield(L, -2, to_luastring('__tostring'));
    this.#pushBinding(`${name}:__eq`, (args) => args.values[0] === args.values[1]);
    lua.lua_setfield(L, -2, to_luastring('__eq'));
    lua.lua_pop(L, 1);
    this.#classes.set(ctor as Ctor, { name, metatable: mtName });
  }

  #classOf(obj: object): ClassInfo | undefined {
    for (let proto = Object.getPrototypeOf(obj); proto !== null; proto = Object.getPrototypeOf(proto)) {
      const info = this.#classes.get(proto.constructor as Ctor);
      if (info) return info;
    }
    return undefined;
  }

  #pushBinding(name: string, fn: LuaBinding): void {
    lua.lua_pushjsfunction(this.L, (L) => {
      let result: unknown;
      let failure: string | undefined;
      try {
        const n = lua.lua_gettop(L);
        const values: LuaValue[] = new Array(n);
        for (let i = 0; i < n; i++) values[i] = this.toJs(i + 1);
        result = fn(new LuaArgs(name, values));
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
      }
      if (failure !== undefined) {
        // Position the error at the calling Lua line, like luaL_error.
        lauxlib.luaL_where(L, 1);
        const where = lua.lua_tojsstring(L, -1);
        lua.lua_pop(L, 1);
        lua.lua_pushstring(L, to_luastring(`${where}${failure}`));
        return lua.lua_error(L);
      }
      if (result instanceof LuaMultipleValues) {
        for (const v of result.values) this.push(v);
        return result.values.length;
      }
      if (result === undefined) return 0;
      this.push(result);
      return 1;
    });
  }

  /** Convert the Lua value at a stack index into JS. */
  toJs(idx: number, depth = 0): LuaValue {
    const L = this.L;
    switch (lua.lua_type(L, idx)) {
      case lua.LUA_TNIL:
      case lua.LUA_TNONE:
        return undefined;
      case lua.LUA_TBOOLEAN:
        return lua.lua_toboolean(L, idx);
      case lua.LUA_TNUMBER:
        return lua.lua_tonumber(L, idx);
      case lua.LUA_TSTRING:
        return luaStringValue(lua.lua_tostring(L, idx));
      case lua.LUA_TTABLE: {
        if (depth > 32) throw new LuaBindingError('table nested too deeply (over 32 levels)');
        const t = new LuaTable();
        const abs = lua.lua_absindex(L, idx);
        lua.lua_pushnil(L);
        while (lua.lua_next(L, abs) !== 0) {
          const key = this.toJs(-2, depth + 1);
          const value = this.toJs(-1, depth + 1);
          if (key !== undefined) t.entries.set(key as string | number, value);
          lua.lua_pop(L, 1);
        }
        return t;
      }
      case lua.LUA_TFUNCTION: {
        lua.lua_pushvalue(L, idx);
        const ref = new LuaFunctionRef(this, lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX));
        // The registry keeps the function alive for as long as JS holds the reference, not longer.
        this.#functionRefs.register(ref, ref.ref);
        return ref;
      }
      case lua.LUA_TUSERDATA: {
        const data = lua.lua_touserdata(L, idx);
        const obj = data?.[OBJECT_SLOT];
        return (obj as object | undefined) ?? 'userdata';
      }
      default:
        return undefined;
    }
  }

  /** Push a JS value onto the Lua stack. */
  push(v: unknown): void {
    const L = this.L;
    if (v === undefined || v === null) lua.lua_pushnil(L);
    else if (typeof v === 'boolean') lua.lua_pushboolean(L, v);
    else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) lua.lua_pushinteger(L, v);
      else lua.lua_pushnumber(L, v);
    } else if (typeof v === 'bigint') lua.lua_pushnumber(L, Number(v));
    else if (typeof v === 'string') lua.lua_pushstring(L, to_luastring(v));
    else if (v instanceof LuaBytes) lua.lua_pushstring(L, v.bytes);
    else if (v instanceof LuaFunctionRef) lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, v.ref);
    else if (typeof v === 'function') this.#pushBinding('function', v as LuaBinding);
    else if (Array.isArray(v)) {
      lua.lua_createtable(L, v.length, 0);
      v.forEach((item, i) => {
        this.push(item);
        lua.lua_rawseti(L, -2, i + 1);
      });
    } else if (v instanceof LuaTable || v instanceof Map) {
      const entries = v instanceof LuaTable ? v.entries : v;
      lua.lua_createtable(L, 0, entries.size);
      for (const [k, val] of entries) {
        this.push(k);
        this.push(val);
        lua.lua_rawset(L, -3);
      }
    } else if (typeof v === 'object') {
      const cls = this.#classOf(v);
      if (cls) {
        const data = lua.lua_newuserdata(L, 0);
        data[OBJECT_SLOT] = v;
        lauxlib.luaL_getmetatable(L, cls.metatable);
        lua.lua_setmetatable(L, -2);
      } else {
        const entries = Object.entries(v as Record<string, unknown>);
        lua.lua_createtable(L, 0, entries.length);
        for (const [k, val] of entries) {
          this.push(val);
          lua.lua_setfield(L, -2, to_luastring(k));
        }
      }
    } else lua.lua_pushnil(L);
  }

  #load(code: string, chunkname: string): number {
    return lauxlib.luaL_loadbuffer(this.L, to_luastring(code), null, to_luastring(chunkname));
  }

  #popError(chunk: string): LuaScriptError {
    const v = this.toJs(-1);
    lua.lua_pop(this.L, 1);
    const msg = typeof v === 'string' ? v : v instanceof Error ? v.message : String(v);
    return new LuaScriptError(msg, chunk);
  }

  #callLoaded(nargs: number, chunk: string): unknown[] {
    const L = this.L;
    const base = lua.lua_gettop(L) - nargs - 1;
    if (lua.lua_pcall(L, nargs, lua.LUA_MULTRET, 0) !== lua.LUA_OK) throw this.#popError(chunk);
    const n = lua.lua_gettop(L) - base;
    const out: unknown[] = [];
    for (let i = 1; i <= n; i++) out.push(this.toJs(base + i));
    lua.lua_settop(L, base);
    return out;
  }

  /** Run a file; errors read "<path>:<line>: <reason>". */
  runFile(path: string): void {
    const code = readFileSync(path, 'utf8');
    const chunk = path;
    if (this.#load(code, `@${path}`) !== lua.LUA_OK) throw this.#popError(chunk);
    this.#callLoaded(0, chunk);
  }

  /** Run a string of Lua; returns its results. */
  runString(code: string, chunkname = 'string'): unknown[] {
    if (this.#load(code, `=${chunkname}`) !== lua.LUA_OK) throw this.#popError(chunkname);
    return this.#callLoaded(0, chunkname);
  }

  /** Call a Lua function held in the registry. */
  callRef(ref: number, args: unknown[]): unknown[] {
    lua.lua_rawgeti(this.L, lua.LUA_REGISTRYINDEX, ref);
    for (const a of args) this.push(a);
    return this.#callLoaded(args.length, 'function');
  }

  /** Call a global function by name (e.g. `maintenance`). */
  callGlobal(name: string, ...args: unknown[]): unknown[] {
    lua.lua_getglobal(this.L, to_luastring(name));
    for (const a of args) this.push(a);
    return this.#callLoaded(args.length, name);
  }

  /**
   * Run one console line as dnsdist does: first as `return <line>`, and when
   * that does not parse, as the line itself. Returns what `print` wrote
   * during the call followed by the returned values, formatted for display.
   */
  runConsoleLine(line: string, formatResult: (v: unknown) => string | undefined): string {
    const captured: string[] = [];
    const previous = this.#printCapture;
    this.#printCapture = captured;
    try {
      let status = this.#load(`return ${line}`, '=console');
      if (status !== lua.LUA_OK) {
        lua.lua_pop(this.L, 1);
        status = this.#load(line, '=console');
        if (status !== lua.LUA_OK) throw this.#popError('console');
      }
      const results = this.#callLoaded(0, 'console');
      let out = captured.map((l) => `${l}\n`).join('');
      for (const r of results) {
        const s = formatResult(r);
        if (s !== undefined) out += s.endsWith('\n') ? s : `${s}\n`;
      }
      return out;
    } finally {
      this.#printCapture = previous;
    }
  }

  /** Lua's string for a number: integers without ".0" (as LuaJIT prints them). */
  static formatNumber(n: number): string {
    return formatLuaNumber(n);
  }

  close(): void {
    this.#closed = true;
    lua.lua_close(this.L);
  }
}

function formatLuaNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  if (Number.isNaN(n)) return n > 0 ? 'nan' : '-nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  return String(Number(n.toPrecision(14)));
}
