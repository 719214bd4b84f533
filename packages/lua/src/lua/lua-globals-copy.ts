/**
 * Copying Lua globals from one Lua state to another (the control plane's to
 * the data-plane workers', workers/worker-lua-globals.ts). dnsdist runs all
 * its Lua in one state, so a global set by maintenance() or at the console
 * is what a LuaAction reads next; with several workers each has its own
 * state, and what changed in the control plane's is copied over.
 *
 * What can cross from one state to another is data: nil, booleans, numbers
 * (integer or float, as Lua 5.3 keeps them), strings (bytes) and tables of
 * those without a metatable, nested up to MAX_DEPTH and without cycles (a
 * table reached twice on different branches is copied twice: the copy
 * keeps the values, not that sharing). Functions, userdata (ComboAddress,
 * DNSName, servers, …), coroutines, tables holding one of these, tables
 * with a metatable and cyclic tables cannot: such a global is not copied,
 * and the other state keeps the value it had.
 *
 * A value is encoded as text (encodeLuaValue), which is both what is sent
 * and what is compared to find what changed: table entries are sorted by
 * their encoded key so that the same contents give the same text.
 */
import { lua, type LuaState } from 'fengari';
import { matchesLuaTrace, traceLuaValue, type LuaTrace } from './lua-value-trace.js';

/** How deeply tables may nest in a copied value. */
export const MAX_DEPTH = 32;

/** A global's new value: its encoding, or null once it is nil. */
export type LuaGlobalChange = [name: string, encoded: string | null];

/** A global that changed to a value that cannot be copied. */
export interface UncopiableGlobal {
  name: string;
  /** Why, in words ("holds a function", …). */
  why: string;
}

/** What changed since the previous look. */
export interface LuaGlobalsDiff {
  /** Globals whose copiable value changed (or became nil), in name order. */
  changed: LuaGlobalChange[];
  /** Globals that changed to a value that cannot be copied. */
  uncopiable: UncopiableGlobal[];
}

/**
 * What the watcher remembers of a global: its encoding and its trace (which
 * tells at the next look, without encoding it again, that it has not
 * changed), or for a value that cannot be copied, its identity in the state.
 */
type Seen = { encoded: string; trace: LuaTrace } | { identity: unknown; why: string };

/**
 * Watches one Lua state's globals: `diff()` says which changed since the
 * previous call (or since construction), reading every global each time
 * (in-place changes to a table are changes too).
 */
export class LuaGlobalsWatch {
  readonly #L: LuaState;
  #seen: Map<string, Seen>;

  constructor(L: LuaState) {
    this.#L = L;
    this.#seen = readGlobals(L, undefined);
  }

  /** The changes since the previous call; the state is left as it was. */
  diff(): LuaGlobalsDiff {
    const now = readGlobals(this.#L, this.#seen);
    const changed: LuaGlobalChange[] = [];
    const uncopiable: UncopiableGlobal[] = [];
    for (const [name, seen] of now) {
      const before = this.#seen.get(name);
      if (seen === before) continue;
      if ('encoded' in seen) {
        if (!before || !('encoded' in before) || before.encoded !== seen.encoded) changed.push([name, seen.encoded]);
      } else if (!before || !('identity' in before) || before.identity !== seen.identity) {
        uncopiable.push({ name, why: seen.why });
      }
    }
    for (const name of this.#seen.keys()) if (!now.has(name)) changed.push([name, null]);
    this.#seen = now;
    changed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { changed, uncopiable };
  }
}

/**
 * Every global with a string name, as encoding or identity. A global that
 * walks as it did at the previous look (`before`) keeps what was seen then:
 * most globals are functions and constant tables, looked at every second.
 */
function readGlobals(L: LuaState, before: Map<string, Seen> | undefined): Map<string, Seen> {
  const seen = new Map<string, Seen>();
  lua.lua_pushglobaltable(L);
  const g = lua.lua_gettop(L);
  try {
    lua.lua_pushnil(L);
    while (lua.lua_next(L, g) !== 0) {
      // Only names: a global keyed by a number or a table is not something a rule reads by name.
      if (lua.lua_type(L, -2) === lua.LUA_TSTRING) {
        const name = nameOf(lua.lua_tostring(L, -2));
        const previous = before?.get(name);
        seen.set(name, previous !== undefined && unchanged(L, previous) ? previous : look(L));
      }
      lua.lua_pop(L, 1);
    }
  } finally {
    lua.lua_settop(L, g - 1);
  }
  return seen;
}

/** What the value on top of the stack is now. */
function look(L: LuaState): Seen {
  const encoded = encodeLuaValue(L, -1);
  if (typeof encoded === 'string') return { encoded, trace: traceLuaValue(L, -1, MAX_DEPTH) };
  return { identity: lua.lua_topointer(L, -1), why: encoded.why };
}

/**
 * Whether the value on top of the stack is still what `previous` saw. A
 * value that could not be copied is the same one while its identity is,
 * except a table, which may have changed in place into one that can be:
 * its encoding stops at the first thing that cannot be copied, which for
 * such tables (the global table, `package`, the libraries) comes early.
 */
function unchanged(L: LuaState, previous: Seen): boolean {
  if ('encoded' in previous) return matchesLuaTrace(L, -1, previous.trace, MAX_DEPTH);
  if (lua.lua_topointer(L, -1) !== previous.identity) return false;
  if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) return true;
  const encoded = encodeLuaValue(L, -1);
  return typeof encoded !== 'string' && encoded.why === previous.why;
}

/** Global names by the key's bytes: a key stays the same string object while its global lives. */
const names = new WeakMap<Uint8Array, string>();

function nameOf(bytes: Uint8Array): string {
  let name = names.get(bytes);
  if (name === undefined) {
    name = bytesToText(bytes);
    names.set(bytes, name);
  }
  return name;
}

/** Why a value cannot be copied (returned rather than thrown: most globals are functions, read every second). */
export interface NotCopiable {
  why: string;
}

/** The encoding of the value at `idx`, or why it cannot be copied. */
export function encodeLuaValue(L: LuaState, idx: number): string | NotCopiable {
  return encode(L, lua.lua_absindex(L, idx), []);
}

function encode(L: LuaState, idx: number, path: object[]): string | NotCopiable {
  const t = lua.lua_type(L, idx);
  switch (t) {
    case lua.LUA_TNIL:
      return 'n';
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, idx) ? 'T' : 'F';
    case lua.LUA_TNUMBER: {
      if (lua.lua_isinteger(L, idx)) return `i${lua.lua_tointegerx(L, idx) as number};`;
      const n = lua.lua_tonumber(L, idx);
      return `f${Object.is(n, -0) ? '-0' : String(n)};`;
    }
    case lua.LUA_TSTRING: {
      const bytes = lua.lua_tostring(L, idx);
      return `s${bytes.length}:${bytesToText(bytes)}`;
    }
    case lua.LUA_TTABLE:
      return encodeTable(L, idx, path);
    case lua.LUA_TFUNCTION:
      return notCopiable('holds a function');
    case lua.LUA_TUSERDATA:
    case lua.LUA_TLIGHTUSERDATA:
      return notCopiable('holds a userdata');
    default:
      return notCopiable(`holds a ${bytesToText(lua.lua_typename(L, t))}`);
  }
}

function encodeTable(L: LuaState, idx: number, path: object[]): string | NotCopiable {
  const self = lua.lua_topointer(L, idx)!;
  if (path.includes(self)) return notCopiable('holds a table that contains itself (a cycle)');
  if (path.length >= MAX_DEPTH) return notCopiable(`holds tables nested deeper than ${MAX_DEPTH}`);
  if (lua.lua_getmetatable(L, idx)) {
    lua.lua_pop(L, 1);
    return notCopiable('holds a table with a metatable');
  }
  // Each level holds a key and a value on the stack.
  if (!lua.lua_checkstack(L, 3)) return notCopiable('holds tables nested too deeply for the Lua stack');
  path.push(self);
  const entries: string[] = [];
  const top = lua.lua_gettop(L);
  try {
    lua.lua_pushnil(L);
    while (lua.lua_next(L, idx) !== 0) {
      const key = encode(L, top + 1, path);
      if (typeof key !== 'string') return key;
      const value = encode(L, top + 2, path);
      if (typeof value !== 'string') return value;
      entries.push(key + value);
      lua.lua_pop(L, 1);
    }
  } finally {
    lua.lua_settop(L, top);
    path.pop();
  }
  // lua_next's order depends on the table's history: sorted, the same contents read the same.
  entries.sort();
  return `{${entries.length}:${entries.join('')}}`;
}

function notCopiable(why: string): NotCopiable {
  return { why };
}

/**
 * Set global `name` of state L to a value encoded by encodeLuaValue (null:
 * nil). Throws an Error naming the global when the text is not such an
 * encoding.
 */
export function setLuaGlobal(L: LuaState, name: string, encoded: string | null): void {
  const top = lua.lua_gettop(L);
  try {
    if (encoded === null) lua.lua_pushnil(L);
    else {
      const end = decode(L, encoded, 0);
      if (end !== encoded.length) throw new Error(`trailing text at ${end}`);
    }
    lua.lua_setglobal(L, textToBytes(name));
  } catch (err) {
    lua.lua_settop(L, top);
    throw new Error(`Lua global ${JSON.stringify(name)}: not a copied value (${(err as Error).message})`, { cause: err });
  }
}

/** Push the value encoded at `at`; returns where the next one starts. */
function decode(L: LuaState, s: string, at: number): number {
  const tag = s[at];
  switch (tag) {
    case 'n':
      lua.lua_pushnil(L);
      return at + 1;
    case 'T':
    case 'F':
      lua.lua_pushboolean(L, tag === 'T');
      return at + 1;
    case 'i':
    case 'f': {
      const end = expectIndex(s, ';', at);
      const n = Number(s.slice(at + 1, end));
      if (tag === 'i') lua.lua_pushinteger(L, n);
      else lua.lua_pushnumber(L, n);
      return end + 1;
    }
    case 's': {
      const colon = expectIndex(s, ':', at);
      const length = Number(s.slice(at + 1, colon));
      const end = colon + 1 + length;
      if (!Number.isInteger(length) || end > s.length) throw new Error(`bad string length at ${at}`);
      lua.lua_pushstring(L, textToBytes(s.slice(colon + 1, end)));
      return end;
    }
    case '{': {
      const colon = expectIndex(s, ':', at);
      const count = Number(s.slice(at + 1, colon));
      if (!Number.isInteger(count)) throw new Error(`bad table size at ${at}`);
      if (!lua.lua_checkstack(L, 3)) throw new Error(`tables nested too deeply at ${at}`);
      lua.lua_createtable(L, 0, count);
      let next = colon + 1;
      for (let i = 0; i < count; i++) {
        next = decode(L, s, next);
        next = decode(L, s, next);
        lua.lua_rawset(L, -3);
      }
      if (s[next] !== '}') throw new Error(`'}' expected at ${next}`);
      return next + 1;
    }
    default:
      throw new Error(`unknown tag ${JSON.stringify(tag ?? '')} at ${at}`);
  }
}

function expectIndex(s: string, c: string, from: number): number {
  const i = s.indexOf(c, from);
  if (i < 0) throw new Error(`'${c}' expected after ${from}`);
  return i;
}

/** Lua strings are bytes: one character per byte keeps them exact (latin1). */
function bytesToText(bytes: Uint8Array): string {
  // Most are names and short values, for which a Buffer costs more than the copy.
  if (bytes.length <= 64) return String.fromCharCode(...bytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function textToBytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}
