import { readFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { lauxlib, lua, lualib, to_luastring, type LuaState } from 'fengari';
import { capConsoleReply, ConsoleReplyBuilder } from '@dnsdist-ts/console/console/console-reply.js';
import { ConsoleTimeBudget, DEFAULT_CONSOLE_COMMAND_LIMITS, type ConsoleCommandLimits } from './console-time-budget.js';
import { LuaBytes, luaStringValue } from './lua-bytes.js';
import { LuaArgs } from './lua-args.js';
import { luaErrorText } from './lua-error-text.js';
import { LuaBindingError, LuaScriptError } from './lua-errors.js';
import { LuaMultipleValues } from './lua-multiple-values.js';
import { formatLuaNumber } from './lua-number-format.js';
import { LuaTable, type LuaFunctionLike, type LuaValue } from './lua-table.js';
import { LUAJIT_COMPAT_PRELUDE } from './luajit-compat-prelude.js';

/** A binding: receives converted arguments, returns a value (or LuaMultipleValues). */
export type LuaBinding = (args: LuaArgs) => unknown;

/** Methods of a userdata class; `self` is the wrapped TS object. */
export type LuaMethods<T> = Record<string, (self: T, args: LuaArgs) => unknown>;

interface ClassInfo {
  name: string;
  metatable: Uint8Array;
  /** Registry reference to the metatable: looking it up by name costs over a microsecond in fengari. */
  metatableRef: number;
}

type Ctor = abstract new (...args: never[]) => object;

const OBJECT_SLOT = 'dnsdistTsObject';

/** How a console command's returned values are shown (formatConsoleResult); undefined shows nothing. */
export type ConsoleResultFormatter = (v: unknown) => string | undefined;

/** Options of LuaRuntime.runConsoleCommandSliced. */
export interface ConsoleCommandOptions {
  /** Stop running (the reply has no reader any more). */
  signal?: AbortSignal;
  /** Reply text beyond this many UTF-8 bytes is left out (ConsoleReplyBuilder); 0: no limit. */
  maxReplyBytes?: number;
  /** Time limits; DEFAULT_CONSOLE_COMMAND_LIMITS when absent. */
  limits?: ConsoleCommandLimits;
  /**
   * Called once the command has ended, before the next one starts: whether
   * it failed (an error, its limits, or cancelled). The data-plane workers
   * are told about a change at that point (workers/worker-config-log.ts).
   */
  onDone?: (failed: boolean) => void;
  /** Called when the command's turn has come, before any of it runs. */
  onStart?: () => void;
}

/** A console command stopped because its signal was aborted (its connection closed, or shutdown). */
export class ConsoleCommandCancelledError extends Error {
  /** The command line. */
  readonly input: string;
  constructor(input: string) {
    super('console command cancelled: nobody is waiting for its reply any more (connection closed or shutting down)');
    this.name = new.target.name;
    this.input = input;
  }
}

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
  /** Where `print` goes while a console command runs (its reply); the output sink otherwise. */
  #printCapture: ConsoleReplyBuilder | undefined;
  /** Console commands run one after the other, as under dnsdist's Lua lock: resolves when the running one is done. */
  #consoleTurn: Promise<void> = Promise.resolve();
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
    // A JS exception inside Lua (an allocation failure in a string function, say) becomes a Lua error with its message.
    lua.lua_atnativeerror(this.L, (L) => {
      const e = lua.lua_touserdata(L, -1) as unknown;
      lua.lua_pushstring(L, to_luastring(e instanceof Error ? e.message : String(e)));
      return 1;
    });
    lua.lua_pushjsfunction(this.L, (L) => this.#luaPrint(L));
    lua.lua_setglobal(this.L, to_luastring('print'));
    lua.lua_getglobal(this.L, to_luastring('string'));
    lua.lua_pushjsfunction(this.L, stringRep);
    lua.lua_setfield(this.L, -2, to_luastring('rep'));
    lua.lua_pop(this.L, 1);
    this.runString(LUAJIT_COMPAT_PRELUDE, 'luajit-compat-prelude');
  }

  /** Print as Lua's print would, honouring console capture. */
  print(line: string): void {
    if (this.#printCapture) this.#printCapture.append(`${line}\n`);
    else this.#output(line);
  }

  /**
   * Lua's `print`. Strings go to a console reply as bytes, so a huge one
   * is decoded only as far as the reply has room.
   */
  #luaPrint(L: LuaState): number {
    const n = lua.lua_gettop(L);
    const capture = this.#printCapture;
    if (capture) {
      for (let i = 1; i <= n; i++) {
        if (i > 1) capture.append('\t');
        if (lua.lua_type(L, i) === lua.LUA_TSTRING) capture.appendBytes(lua.lua_tostring(L, i));
        else capture.append(this.#printedForm(L, i));
      }
      capture.append('\n');
      return 0;
    }
    const parts: string[] = [];
    for (let i = 1; i <= n; i++) parts.push(this.#printedForm(L, i));
    this.#output(parts.join('\t'));
    return 0;
  }

  /** What print shows for the value at `i`; a table is "table" without being copied into JS first. */
  #printedForm(L: LuaState, i: number): string {
    return lua.lua_type(L, i) === lua.LUA_TTABLE ? 'table' : this.#displayString(this.#toJs(L, i, 0));
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

  /**
   * Wraps every global function and object method registered from now on
   * ("name", "Class:method"; the worker guards
   * note which ones the configuration uses; workers/worker-guards.ts).
   */
  bindingWrapper: ((name: string, fn: LuaBinding) => LuaBinding) | undefined;

  /**
   * True while a console command's own Lua runs (not between its slices,
   * when maintenance() or a health check's Lua may run): the worker guards
   * let configuration changes through only then.
   */
  consoleCommandRunning = false;

  /** "file:line: " of the Lua line calling the binding that runs now ("" when unknown), as luaL_where says it. */
  callerPosition(): string {
    lauxlib.luaL_where(this.L, 1);
    const where = lua.lua_tojsstring(this.L, -1);
    lua.lua_pop(this.L, 1);
    return where;
  }

  /** Register a global function. */
  registerFunction(name: string, fn: LuaBinding): void {
    this.#pushBinding(name, this.bindingWrapper ? this.bindingWrapper(name, fn) : fn);
    lua.lua_setglobal(this.L, to_luastring(name));
  }

  /** Set a global to a value (tables for constants such as DNSAction). */
  setGlobal(name: string, value: unknown): void {
    this.push(value);
    lua.lua_setglobal(this.L, to_luastring(name));
  }

  /** The globals that hold an object of a defined class, by name (cold path: the worker guards' note of what the workers hold). */
  objectGlobals(): Map<string, object> {
    const L = this.L;
    const found = new Map<string, object>();
    lua.lua_pushglobaltable(L);
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2) !== 0) {
      if (lua.lua_type(L, -2) === lua.LUA_TSTRING && lua.lua_type(L, -1) === lua.LUA_TUSERDATA) {
        const obj = lua.lua_touserdata(L, -1)?.[OBJECT_SLOT] as object | undefined;
        if (obj !== undefined) found.set(lua.lua_tojsstring(L, -2), obj);
      }
      lua.lua_pop(L, 1);
    }
    lua.lua_pop(L, 1);
    return found;
  }

  /** The object of a defined class global `name` holds now, or undefined. */
  globalObject(name: string): object | undefined {
    const L = this.L;
    lua.lua_getglobal(L, to_luastring(name));
    const obj = lua.lua_type(L, -1) === lua.LUA_TUSERDATA ? (lua.lua_touserdata(L, -1)?.[OBJECT_SLOT] as object | undefined) : undefined;
    lua.lua_pop(L, 1);
    return obj;
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
      const call: LuaBinding = (args) => {
        const self = args.values[0];
        if (!(self instanceof ctor)) {
          throw new LuaBindingError(`${name}:${method}: call it with ':' on a ${name} (obj:${method}(...))`);
        }
        return impl(self, new LuaArgs(`${name}:${method}`, args.values.slice(1)));
      };
      this.#pushBinding(`${name}:${method}`, this.bindingWrapper ? this.bindingWrapper(`${name}:${method}`, call) : call);
      lua.lua_setfield(L, -2, to_luastring(method));
    }
    lua.lua_setfield(L, -2, to_luastring('__index'));
    this.#pushBinding(`${name}:__tostring`, (args) => String(args.values[0]));
    lua.lua_setfield(L, -2, to_luastring('__tostring'));
    this.#pushBinding(`${name}:__eq`, (args) => args.values[0] === args.values[1]);
    lua.lua_setfield(L, -2, to_luastring('__eq'));
    const metatableRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    this.#classes.set(ctor as Ctor, { name, metatable: mtName, metatableRef });
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
        for (let i = 0; i < n; i++) values[i] = this.#toJs(L, i + 1, 0);
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
        for (const v of result.values) this.#push(L, v);
        return result.values.length;
      }
      if (result === undefined) return 0;
      this.#push(L, result);
      return 1;
    });
  }

  /** Convert the Lua value at a stack index of the main thread into JS. */
  toJs(idx: number, depth = 0): LuaValue {
    return this.#toJs(this.L, idx, depth);
  }

  /** Push a JS value onto the main thread's Lua stack. */
  push(v: unknown): void {
    this.#push(this.L, v);
  }

  /**
   * Convert the value at `idx` on L's stack: L is the thread that called
   * the binding (the main thread, a console command's coroutine, or one a
   * script created), whose stack holds the arguments.
   */
  #toJs(L: LuaState, idx: number, depth: number): LuaValue {
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
          const key = this.#toJs(L, -2, depth + 1);
          const value = this.#toJs(L, -1, depth + 1);
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

  #push(L: LuaState, v: unknown): void {
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
        this.#push(L, item);
        lua.lua_rawseti(L, -2, i + 1);
      });
    } else if (v instanceof LuaTable || v instanceof Map) {
      const entries = v instanceof LuaTable ? v.entries : v;
      lua.lua_createtable(L, 0, entries.size);
      for (const [k, val] of entries) {
        this.#push(L, k);
        this.#push(L, val);
        lua.lua_rawset(L, -3);
      }
    } else if (typeof v === 'object') {
      const cls = this.#classOf(v);
      if (cls) {
        const data = lua.lua_newuserdata(L, 0);
        data[OBJECT_SLOT] = v;
        lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, cls.metatableRef);
        lua.lua_setmetatable(L, -2);
      } else {
        const entries = Object.entries(v as Record<string, unknown>);
        lua.lua_createtable(L, 0, entries.length);
        for (const [k, val] of entries) {
          this.#push(L, val);
          lua.lua_setfield(L, -2, to_luastring(k));
        }
      }
    } else lua.lua_pushnil(L);
  }

  #load(code: string, chunkname: string, L: LuaState = this.L): number {
    return lauxlib.luaL_loadbuffer(L, to_luastring(code), null, to_luastring(chunkname));
  }

  /** Pop the error object off L as a LuaScriptError, its text as Lua's interpreter shows it. */
  #popError(chunk: string, L: LuaState = this.L): LuaScriptError {
    const msg = luaErrorText(L, -1);
    lua.lua_pop(L, 1);
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
   * Runs to completion without a time limit (the console socket and the
   * terminal use runConsoleCommandSliced); throws LuaScriptError on an error.
   */
  runConsoleLine(line: string, formatResult: ConsoleResultFormatter, maxReplyBytes = 0): string {
    const L = this.L;
    const reply = new ConsoleReplyBuilder(maxReplyBytes);
    const base = lua.lua_gettop(L);
    const failure = this.#loadConsoleChunk(L, line);
    if (failure !== undefined) throw failure;
    const previous = this.#printCapture;
    this.#printCapture = reply;
    const wasRunning = this.consoleCommandRunning;
    this.consoleCommandRunning = true;
    try {
      const status = lua.lua_pcall(L, 0, lua.LUA_MULTRET, 0);
      this.consoleCommandRunning = wasRunning;
      if (status !== lua.LUA_OK) throw this.#popError('console');
      this.#appendResults(L, base + 1, reply, formatResult);
      return reply.finish();
    } finally {
      this.consoleCommandRunning = wasRunning;
      this.#printCapture = previous;
      lua.lua_settop(L, base);
    }
  }

  /**
   * Run one console line the way the console socket and the terminal do:
   * on a coroutine of its own, in slices, so DNS keeps being answered
   * (ConsoleTimeBudget), and only one command at a time. Resolves with the
   * reply as runConsoleLine builds it, or "Error: …\n" when the line fails
   * or is aborted by its limits.
   *
   * @throws ConsoleCommandCancelledError when `signal` is aborted before it ends.
   */
  async runConsoleCommandSliced(line: string, formatResult: ConsoleResultFormatter, options: ConsoleCommandOptions = {}): Promise<string> {
    const previousTurn = this.#consoleTurn;
    let endTurn!: () => void;
    this.#consoleTurn = new Promise((resolve) => (endTurn = resolve));
    await previousTurn;
    options.onStart?.();
    const L = this.L;
    // The coroutine is held by the registry rather than the main stack, which other Lua uses between slices.
    const thread = lua.lua_newthread(L);
    const threadRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    let failed = true;
    try {
      const maxReplyBytes = options.maxReplyBytes ?? 0;
      const failure = this.#loadConsoleChunk(thread, line);
      if (failure !== undefined) return capConsoleReply(`Error: ${failure.message}\n`, maxReplyBytes);
      const reply = new ConsoleReplyBuilder(maxReplyBytes);
      const budget = new ConsoleTimeBudget(thread, options.limits ?? DEFAULT_CONSOLE_COMMAND_LIMITS);
      for (;;) {
        if (options.signal?.aborted) throw new ConsoleCommandCancelledError(line);
        budget.beginSlice();
        const previousCapture = this.#printCapture;
        this.#printCapture = reply;
        let status: number;
        const wasRunning = this.consoleCommandRunning;
        this.consoleCommandRunning = true;
        try {
          status = lua.lua_resume(thread, L, 0);
        } finally {
          this.consoleCommandRunning = wasRunning;
          this.#printCapture = previousCapture;
        }
        if (status === lua.LUA_YIELD && budget.yieldedForEventLoop) {
          await nextTurn();
          continue;
        }
        if (status === lua.LUA_YIELD) {
          // The line itself called coroutine.yield: dnsdist runs it outside any coroutine.
          return capConsoleReply('Error: attempt to yield from outside a coroutine\n', maxReplyBytes);
        }
        if (status !== lua.LUA_OK) {
          // Read on the main thread: a coroutine that died in an error can run nothing, __tostring included.
          lua.lua_xmove(thread, L, 1);
          const message = luaErrorText(L, -1);
          lua.lua_pop(L, 1);
          return capConsoleReply(`Error: ${message}\n`, maxReplyBytes);
        }
        // The values are turned into text on a turn of their own when the last slice has already run long (one big string.rep, say).
        if (budget.sliceSpent) await nextTurn();
        this.#appendResults(thread, 1, reply, formatResult);
        failed = false;
        return reply.finish();
      }
    } finally {
      lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, threadRef);
      options.onDone?.(failed);
      endTurn();
    }
  }

  /** Load `return <line>`, or the line itself when that does not parse; undefined once the chunk is on L's stack. */
  #loadConsoleChunk(L: LuaState, line: string): LuaScriptError | undefined {
    if (this.#load(`return ${line}`, '=console', L) === lua.LUA_OK) return undefined;
    lua.lua_pop(L, 1);
    if (this.#load(line, '=console', L) === lua.LUA_OK) return undefined;
    return this.#popError('console', L);
  }

  /**
   * Append the values from `first` to the top of L's stack to a console
   * reply, one line each; strings as bytes, cut to the room left before
   * they are decoded.
   */
  #appendResults(L: LuaState, first: number, reply: ConsoleReplyBuilder, formatResult: ConsoleResultFormatter): void {
    const top = lua.lua_gettop(L);
    for (let i = first; i <= top; i++) {
      if (lua.lua_type(L, i) === lua.LUA_TSTRING) {
        const bytes = lua.lua_tostring(L, i);
        reply.appendBytes(bytes);
        if (bytes.length === 0 || bytes[bytes.length - 1] !== 0x0a) reply.append('\n');
        continue;
      }
      const s = formatResult(this.#toJs(L, i, 0));
      if (s !== undefined) reply.append(s.endsWith('\n') ? s : `${s}\n`);
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

const EMPTY = new Uint8Array(0);
/** Lua's limit on a string.rep result (fengari's MAXSIZE). */
const MAX_REP_BYTES = 2147483647;

/**
 * `string.rep(s, n [, sep])` as Lua defines it, built by doubling copies:
 * fengari's copies `s` once per repetition, and a console command making
 * 100 MB that way held the event loop (and every DNS query) for seconds.
 */
function stringRep(L: LuaState): number {
  const s = lauxlib.luaL_checklstring(L, 1);
  const n = lauxlib.luaL_checkinteger(L, 2);
  const sep = lauxlib.luaL_optlstring(L, 3, EMPTY);
  const unit = s.length + sep.length;
  if (n <= 0) {
    lua.lua_pushstring(L, EMPTY);
    return 1;
  }
  if (unit > MAX_REP_BYTES / n) return lauxlib.luaL_error(L, to_luastring('resulting string too large'));
  const total = n * unit - sep.length;
  if (total === 0) {
    lua.lua_pushstring(L, EMPTY);
    return 1;
  }
  // s, sep, s, sep, …, s: the repeating unit (s ‖ sep) cut short by one separator.
  const out = new Uint8Array(total);
  out.set(s, 0);
  if (sep.length > 0 && total > s.length) out.set(sep, s.length);
  let filled = Math.min(unit, total);
  while (filled < total) {
    const copy = Math.min(filled, total - filled);
    out.copyWithin(filled, 0, copy);
    filled += copy;
  }
  lua.lua_pushlstring(L, out, total);
  return 1;
}
