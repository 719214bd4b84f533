/**
 * A trace of a Lua value as it sits in its state: the identities of the
 * strings, functions, tables and userdata it is made of, and the numbers
 * and booleans, in the order lua_next walks them. Walking the value again
 * and meeting the same trace means it has not changed, and says so without
 * building a single string: what lets the control plane look at every Lua
 * global once a second (lua-globals-copy.ts) for almost nothing when none
 * changed, instead of encoding each of them again.
 *
 * "Same trace" is sufficient, not necessary: a string set again to the
 * same text is a new string object, and a table whose entries were removed
 * and added back walks in another order. Either only costs an encoding.
 */
import { lua, type LuaState } from 'fengari';

/** A value's trace: opaque, compared only by matchesLuaTrace. */
export type LuaTrace = readonly unknown[];

// Lua's own type numbers tag the values; these tag what Lua types do not say.
const INTEGER = 100;
const FLOAT = 101;
/** A table whose entries are not traced (a cycle, or deeper than the limit): what holds it is not copied. */
const CUT = 102;
/** The end of a table's entries. */
const END = 103;
/** In a trace, matches nothing: the value could not be walked and must be looked at in full. */
const NEVER = Symbol('never');

/**
 * The trace of the value at `idx`. Tables are walked down to `maxDepth`
 * tables deep; below that (and on a cycle) only the table's identity is
 * recorded, since such a value cannot be copied whatever it holds.
 */
export function traceLuaValue(L: LuaState, idx: number, maxDepth: number): LuaTrace {
  const out: unknown[] = [];
  record(L, lua.lua_absindex(L, idx), out, [], maxDepth);
  return out;
}

/** Whether the value at `idx` walks exactly as when `trace` was taken. */
export function matchesLuaTrace(L: LuaState, idx: number, trace: LuaTrace, maxDepth: number): boolean {
  return match(L, lua.lua_absindex(L, idx), trace, 0, [], maxDepth) === trace.length;
}

function record(L: LuaState, idx: number, out: unknown[], path: unknown[], maxDepth: number): void {
  const t = lua.lua_type(L, idx);
  switch (t) {
    case lua.LUA_TNIL:
      out.push(t);
      return;
    case lua.LUA_TBOOLEAN:
      out.push(t, lua.lua_toboolean(L, idx));
      return;
    case lua.LUA_TNUMBER:
      out.push(lua.lua_isinteger(L, idx) ? INTEGER : FLOAT, lua.lua_tonumber(L, idx));
      return;
    case lua.LUA_TSTRING:
      // The string object itself: Lua strings never change, a new value is a new object.
      out.push(t, lua.lua_tostring(L, idx));
      return;
    case lua.LUA_TTABLE:
      break;
    default:
      out.push(t, lua.lua_topointer(L, idx));
      return;
  }
  const self = lua.lua_topointer(L, idx);
  out.push(t, self);
  if (path.includes(self) || path.length >= maxDepth) {
    out.push(CUT);
    return;
  }
  if (!lua.lua_checkstack(L, 3)) {
    out.push(NEVER);
    return;
  }
  out.push(metatableOf(L, idx));
  path.push(self);
  const top = lua.lua_gettop(L);
  try {
    lua.lua_pushnil(L);
    while (lua.lua_next(L, idx) !== 0) {
      record(L, top + 1, out, path, maxDepth);
      record(L, top + 2, out, path, maxDepth);
      lua.lua_settop(L, top + 1);
    }
  } finally {
    lua.lua_settop(L, top);
    path.pop();
  }
  out.push(END);
}

/** Where the value at `idx` ends in `trace` if it walks as recorded from `pos`, else -1. */
function match(L: LuaState, idx: number, trace: LuaTrace, pos: number, path: unknown[], maxDepth: number): number {
  const t = lua.lua_type(L, idx);
  switch (t) {
    case lua.LUA_TNIL:
      return trace[pos] === t ? pos + 1 : -1;
    case lua.LUA_TBOOLEAN:
      return trace[pos] === t && trace[pos + 1] === lua.lua_toboolean(L, idx) ? pos + 2 : -1;
    case lua.LUA_TNUMBER:
      // Object.is: NaN is NaN, and -0 is not 0 (they are encoded apart).
      return trace[pos] === (lua.lua_isinteger(L, idx) ? INTEGER : FLOAT) && Object.is(trace[pos + 1], lua.lua_tonumber(L, idx))
        ? pos + 2
        : -1;
    case lua.LUA_TSTRING:
      return trace[pos] === t && trace[pos + 1] === lua.lua_tostring(L, idx) ? pos + 2 : -1;
    case lua.LUA_TTABLE:
      break;
    default:
      return trace[pos] === t && trace[pos + 1] === lua.lua_topointer(L, idx) ? pos + 2 : -1;
  }
  const self = lua.lua_topointer(L, idx);
  if (trace[pos] !== t || trace[pos + 1] !== self) return -1;
  const cut = path.includes(self) || path.length >= maxDepth;
  if (trace[pos + 2] === CUT) return cut ? pos + 3 : -1;
  // A NEVER recorded here is no metatable's identity: it fails the comparison below.
  if (cut || !lua.lua_checkstack(L, 3) || trace[pos + 2] !== metatableOf(L, idx)) return -1;
  pos += 3;
  path.push(self);
  const top = lua.lua_gettop(L);
  try {
    lua.lua_pushnil(L);
    while (lua.lua_next(L, idx) !== 0) {
      pos = match(L, top + 1, trace, pos, path, maxDepth);
      if (pos < 0) return -1;
      pos = match(L, top + 2, trace, pos, path, maxDepth);
      if (pos < 0) return -1;
      lua.lua_settop(L, top + 1);
    }
  } finally {
    lua.lua_settop(L, top);
    path.pop();
  }
  return trace[pos] === END ? pos + 1 : -1;
}

/** The identity of the table's metatable, or null. */
function metatableOf(L: LuaState, idx: number): unknown {
  if (!lua.lua_getmetatable(L, idx)) return null;
  const mt = lua.lua_topointer(L, -1);
  lua.lua_pop(L, 1);
  return mt;
}
