/**
 * The slice of fengari's API (Lua 5.3 in JavaScript) the bindings use.
 * fengari ships no types; these mirror its C-API-shaped functions.
 */
declare module 'fengari' {
  export type LuaState = { readonly __luaState: unique symbol };
  export type LuaString = Uint8Array;
  export type JsFunction = (L: LuaState) => number;

  export function to_luastring(s: string, cache?: boolean): LuaString;
  export function to_jsstring(s: LuaString, from?: number, to?: number, replacementChar?: boolean): string;

  export const lua: {
    LUA_OK: number;
    LUA_ERRSYNTAX: number;
    LUA_MULTRET: number;
    LUA_REGISTRYINDEX: number;
    LUA_TNONE: number;
    LUA_TNIL: number;
    LUA_TBOOLEAN: number;
    LUA_TLIGHTUSERDATA: number;
    LUA_TNUMBER: number;
    LUA_TSTRING: number;
    LUA_TTABLE: number;
    LUA_TFUNCTION: number;
    LUA_TUSERDATA: number;
    LUA_TTHREAD: number;
    LUA_YIELD: number;
    LUA_MASKCOUNT: number;
    lua_gettop(L: LuaState): number;
    lua_settop(L: LuaState, idx: number): void;
    lua_pop(L: LuaState, n: number): void;
    lua_type(L: LuaState, idx: number): number;
    lua_typename(L: LuaState, t: number): LuaString;
    lua_absindex(L: LuaState, idx: number): number;
    lua_pushvalue(L: LuaState, idx: number): void;
    lua_pushnil(L: LuaState): void;
    lua_pushnumber(L: LuaState, n: number): void;
    lua_pushinteger(L: LuaState, n: number): void;
    lua_pushboolean(L: LuaState, b: boolean): void;
    lua_pushstring(L: LuaState, s: LuaString): void;
    lua_pushliteral(L: LuaState, s: string): void;
    lua_pushjsfunction(L: LuaState, f: JsFunction): void;
    lua_pushcclosure(L: LuaState, f: JsFunction, n: number): void;
    lua_upvalueindex(i: number): number;
    lua_newtable(L: LuaState): void;
    lua_createtable(L: LuaState, narr: number, nrec: number): void;
    lua_newuserdata(L: LuaState, size: number): Record<string, unknown>;
    lua_touserdata(L: LuaState, idx: number): Record<string, unknown> | null;
    lua_toboolean(L: LuaState, idx: number): boolean;
    lua_isnoneornil(L: LuaState, idx: number): boolean;
    lua_gettable(L: LuaState, idx: number): number;
    lua_call(L: LuaState, nargs: number, nresults: number): void;
    lua_tonumber(L: LuaState, idx: number): number;
    lua_tointegerx(L: LuaState, idx: number): number | false;
    lua_isinteger(L: LuaState, idx: number): boolean;
    lua_isnumber(L: LuaState, idx: number): boolean;
    lua_tojsstring(L: LuaState, idx: number): string;
    lua_tostring(L: LuaState, idx: number): LuaString;
    lua_setglobal(L: LuaState, name: LuaString): void;
    lua_getglobal(L: LuaState, name: LuaString): number;
    lua_setfield(L: LuaState, idx: number, k: LuaString): void;
    lua_getfield(L: LuaState, idx: number, k: LuaString): number;
    lua_rawseti(L: LuaState, idx: number, n: number): void;
    lua_rawgeti(L: LuaState, idx: number, n: number): number;
    lua_rawset(L: LuaState, idx: number): void;
    lua_rawget(L: LuaState, idx: number): number;
    lua_rawlen(L: LuaState, idx: number): number;
    lua_next(L: LuaState, idx: number): number;
    lua_setmetatable(L: LuaState, idx: number): void;
    lua_getmetatable(L: LuaState, idx: number): boolean;
    lua_topointer(L: LuaState, idx: number): object | null;
    lua_pushglobaltable(L: LuaState): void;
    lua_checkstack(L: LuaState, n: number): boolean;
    lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
    lua_error(L: LuaState): never;
    lua_atnativeerror(L: LuaState, f: JsFunction): JsFunction | undefined;
    lua_close(L: LuaState): void;
    lua_newthread(L: LuaState): LuaState;
    lua_resume(L: LuaState, from: LuaState | null, nargs: number): number;
    lua_yield(L: LuaState, nresults: number): number;
    lua_isyieldable(L: LuaState): boolean;
    lua_xmove(from: LuaState, to: LuaState, n: number): void;
    lua_sethook(L: LuaState, hook: ((L: LuaState, ar: unknown) => void) | null, mask: number, count: number): void;
    lua_pushlstring(L: LuaState, s: LuaString, len: number): LuaString;
    lua_gethook(L: LuaState): ((L: LuaState, ar: unknown) => void) | null;
    lua_gethookmask(L: LuaState): number;
    lua_gethookcount(L: LuaState): number;
  };

  export const lauxlib: {
    luaL_newstate(): LuaState;
    luaL_loadbuffer(L: LuaState, buff: LuaString, size: number | null, name: LuaString): number;
    luaL_ref(L: LuaState, t: number): number;
    luaL_unref(L: LuaState, t: number, ref: number): void;
    luaL_newmetatable(L: LuaState, tname: LuaString): number;
    luaL_getmetatable(L: LuaState, tname: LuaString): number;
    luaL_testudata(L: LuaState, ud: number, tname: LuaString): Record<string, unknown> | null;
    luaL_traceback(L: LuaState, L1: LuaState, msg: LuaString | null, level: number): void;
    luaL_where(L: LuaState, level: number): void;
    luaL_tolstring(L: LuaState, idx: number): LuaString;
    luaL_checklstring(L: LuaState, arg: number): LuaString;
    luaL_optlstring(L: LuaState, arg: number, def: LuaString): LuaString;
    luaL_checkinteger(L: LuaState, arg: number): number;
    luaL_error(L: LuaState, message: LuaString): never;
  };

  export const lualib: {
    luaL_openlibs(L: LuaState): void;
  };
}
