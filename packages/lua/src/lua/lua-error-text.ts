/**
 * The text of a Lua error object, as Lua's own interpreter shows one:
 * strings and numbers as they are, a value whose metatable has
 * `__tostring` through it, anything else as "(error object is a table
 * value)". Without this, `error({})` reached the console as
 * "[object Object]" (the JS conversion of the copied table).
 */
import { lua, lauxlib, to_luastring, type LuaState } from 'fengari';
import { formatLuaNumber } from './lua-number-format.js';

const TOSTRING = to_luastring('__tostring');

/** Runs `tostring` on its argument; called protected, so a failing `__tostring` cannot escape. */
function callToString(L: LuaState): number {
  lauxlib.luaL_tolstring(L, 1);
  return 1;
}

/** Text for the error object at `idx` on L's stack; the stack is left as it was. */
export function luaErrorText(L: LuaState, idx: number): string {
  const type = lua.lua_type(L, idx);
  if (type === lua.LUA_TSTRING) return decodeBytes(lua.lua_tostring(L, idx));
  if (type === lua.LUA_TNUMBER) return formatLuaNumber(lua.lua_tonumber(L, idx));
  const abs = lua.lua_absindex(L, idx);
  if (hasToString(L, abs)) {
    lua.lua_pushjsfunction(L, callToString);
    lua.lua_pushvalue(L, abs);
    const ok = lua.lua_pcall(L, 1, 1, 0) === lua.LUA_OK && lua.lua_type(L, -1) === lua.LUA_TSTRING;
    const text = ok ? decodeBytes(lua.lua_tostring(L, -1)) : undefined;
    lua.lua_pop(L, 1);
    if (text !== undefined) return text;
  }
  return `(error object is a ${decodeBytes(lua.lua_typename(L, type))} value)`;
}

function hasToString(L: LuaState, idx: number): boolean {
  if (!lua.lua_getmetatable(L, idx)) return false;
  const found = lua.lua_getfield(L, -1, TOSTRING) !== lua.LUA_TNIL;
  lua.lua_pop(L, 2);
  return found;
}

function decodeBytes(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
}
