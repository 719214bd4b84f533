/**
 * The `ffi` module of one Lua state: what `require("ffi")` returns. A
 * compatibility layer for configurations written against LuaJIT's FFI in
 * dnsdist (see docs/lua.md, "FFI"): ffi.cdef, ffi.C with dnsdist's
 * `dnsdist_ffi_*` functions, ffi.new / cast / typeof / sizeof / copy /
 * fill / string / gc / metatype / istype over the cdata of ffi-cdata.ts.
 * Whatever it cannot do is an error that names it.
 */
import { lauxlib, lua, to_luastring, type JsFunction, type LuaState } from 'fengari';
import { parseCdef } from './ffi-cdef.js';
import { CData, convertForStore, defaultValue, describe, newArray, type CellStore, type StructValue } from './ffi-cdata.js';
import { FfiTypes, FfiTypeError, typeText, type CType } from './ffi-types.js';

const CDATA_SLOT = 'dnsdistTsCData';
const CTYPE_SLOT = 'dnsdistTsCType';
const REGISTRY = lua.LUA_REGISTRYINDEX;

/** A C function of ffi.C: reads its arguments off L, pushes its results, returns how many. */
export type FfiFunction = (L: LuaState, ffi: FfiModule) => number;

/** A ctype object (ffi.typeof): callable like ffi.new. */
class CTypeObject {
  constructor(readonly type: CType) {}
}

/**
 * dnsdist's FFI header, as declarations: the structs and opaque types every
 * dnsdist state has before any ffi.cdef (dnsdist declares them at start-up).
 */
const PREDECLARED = `
typedef struct dnsdist_ffi_dnsquestion_t dnsdist_ffi_dnsquestion_t;
typedef struct dnsdist_ffi_dnsresponse_t dnsdist_ffi_dnsresponse_t;
typedef struct dnsdist_ffi_servers_list_t dnsdist_ffi_servers_list_t;
typedef struct dnsdist_ffi_server_t dnsdist_ffi_server_t;
typedef struct dnsdist_ffi_stat_node_t dnsdist_ffi_stat_node_t;
typedef struct dnsdist_ffi_ednsoption { uint16_t optionCode; uint16_t len; const void* data; } dnsdist_ffi_ednsoption_t;
typedef struct dnsdist_ffi_http_header { const char* name; const char* value; } dnsdist_ffi_http_header_t;
typedef struct dnsdist_ffi_tag { const char* name; const char* value; } dnsdist_ffi_tag_t;
typedef struct dnsdist_ffi_raw_value { const char* value; uint16_t size; } dnsdist_ffi_raw_value_t;
typedef struct dnsdist_ffi_proxy_protocol_value { const char* value; uint16_t size; uint8_t type; } dnsdist_ffi_proxy_protocol_value_t;
typedef enum { dnsdist_ffi_protocol_type_doudp = 0, dnsdist_ffi_protocol_type_dotcp = 1, dnsdist_ffi_protocol_type_dnscryptudp = 2,
  dnsdist_ffi_protocol_type_dnscrypttcp = 3, dnsdist_ffi_protocol_type_dot = 4, dnsdist_ffi_protocol_type_doh = 5 } dnsdist_ffi_protocol_type;
`;

export class FfiModule {
  readonly L: LuaState;
  readonly types = new FfiTypes();
  readonly #functions: ReadonlyMap<string, FfiFunction>;
  /** Prototypes ffi.cdef saw, for the error when one has no implementation. */
  readonly #declared = new Map<string, string>();
  readonly #cdataMetatableRef: number;
  readonly #ctypeMetatableRef: number;
  /** Registry ref of ffi.C. */
  readonly #cRef: number;
  /** Registry ref of the module table. */
  readonly moduleRef: number;
  readonly #ids = new WeakMap<object, number>();
  #typeByString = new WeakMap<Uint8Array, CType>();
  #nextId = 0x1000;

  /**
   * Build the module in `L` and make `require("ffi")` return it.
   * @param functions ffi.C's functions (dnsdist's FFI interface).
   */
  constructor(L: LuaState, functions: ReadonlyMap<string, FfiFunction>) {
    this.L = L;
    this.#functions = functions;
    const enums = parseCdef(this.types, PREDECLARED);
    this.#cdataMetatableRef = this.#buildCdataMetatable();
    this.#ctypeMetatableRef = this.#buildCtypeMetatable();
    this.#cRef = this.#buildC(enums.constants);
    this.moduleRef = this.#buildModule();
    // require("ffi") finds it in package.loaded, as LuaJIT's built-in module.
    lua.lua_getglobal(L, to_luastring('package'));
    lua.lua_getfield(L, -1, to_luastring('loaded'));
    lua.lua_rawgeti(L, REGISTRY, this.moduleRef);
    lua.lua_setfield(L, -2, to_luastring('ffi'));
    lua.lua_pop(L, 2);
  }

  // ---- values between Lua and JS ------------------------------------------------------------

  /** Push a cdata as a new userdata. */
  pushCData(L: LuaState, cd: CData): void {
    const ud = lua.lua_newuserdata(L, 0);
    ud[CDATA_SLOT] = cd;
    lua.lua_rawgeti(L, REGISTRY, this.#cdataMetatableRef);
    lua.lua_setmetatable(L, -2);
  }

  /** The cdata at `idx`, or undefined when the value is none. */
  cdataAt(L: LuaState, idx: number): CData | undefined {
    if (lua.lua_type(L, idx) !== lua.LUA_TUSERDATA) return undefined;
    const v = lua.lua_touserdata(L, idx)?.[CDATA_SLOT];
    return v instanceof CData ? v : undefined;
  }

  /** A Lua value as the converters take it: strings as bytes, cdata as CData. */
  valueAt(L: LuaState, idx: number): unknown {
    switch (lua.lua_type(L, idx)) {
      case lua.LUA_TNIL:
      case lua.LUA_TNONE:
        return undefined;
      case lua.LUA_TBOOLEAN:
        return lua.lua_toboolean(L, idx);
      case lua.LUA_TNUMBER:
        return lua.lua_tonumber(L, idx);
      case lua.LUA_TSTRING:
        return lua.lua_tostring(L, idx);
      case lua.LUA_TUSERDATA: {
        const cd = this.cdataAt(L, idx);
        if (cd) return cd;
        const ct = lua.lua_touserdata(L, idx)?.[CTYPE_SLOT];
        if (ct instanceof CTypeObject) return ct;
        return { userdata: true };
      }
      default:
        return { [lua.lua_typename(L, lua.lua_type(L, idx)).toString()]: true };
    }
  }

  /** Push what a read produced: numbers, booleans, cdata, nil for NULL. */
  pushValue(L: LuaState, v: unknown): void {
    if (v === undefined || v === null) lua.lua_pushnil(L);
    else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) lua.lua_pushinteger(L, v);
      else lua.lua_pushnumber(L, v);
    } else if (typeof v === 'boolean') lua.lua_pushboolean(L, v);
    else if (v instanceof CData) this.pushCData(L, v);
    else if (v instanceof Uint8Array) lua.lua_pushstring(L, v);
    else lua.lua_pushnil(L);
  }

  /** The handle behind an opaque pointer argument, checked against its class. */
  handleAt<T extends object>(L: LuaState, idx: number, ctor: abstract new (...args: never[]) => T, typeName: string, fn: string): T {
    const cd = this.cdataAt(L, idx);
    if (cd?.handle instanceof ctor) return cd.handle;
    throw new Error(
      `${fn}: argument #${idx} must be a '${typeName} *' (the value dnsdist passed to the function), got ${describe(this.valueAt(L, idx))}`,
    );
  }

  /** An integer argument (numbers only, as the C prototype wants). */
  integerAt(L: LuaState, idx: number, fn: string): number {
    if (lua.lua_type(L, idx) !== lua.LUA_TNUMBER) {
      throw new Error(`${fn}: argument #${idx} must be a number, got ${describe(this.valueAt(L, idx))}`);
    }
    return Math.trunc(lua.lua_tonumber(L, idx));
  }

  booleanAt(L: LuaState, idx: number): boolean {
    const t = lua.lua_type(L, idx);
    if (t === lua.LUA_TNUMBER) return lua.lua_tonumber(L, idx) !== 0;
    return lua.lua_toboolean(L, idx);
  }

  /** A `const char *` argument: a Lua string, or bytes behind a char pointer up to their NUL. */
  cStringAt(L: LuaState, idx: number, fn: string): Uint8Array {
    if (lua.lua_type(L, idx) === lua.LUA_TSTRING) return lua.lua_tostring(L, idx);
    const cd = this.cdataAt(L, idx);
    if (cd && cd.store instanceof Uint8Array) {
      const end = cd.store.indexOf(0, cd.offset);
      return cd.store.subarray(cd.offset, end < 0 ? cd.store.length : end);
    }
    throw new Error(`${fn}: argument #${idx} must be a string (const char *), got ${describe(this.valueAt(L, idx))}`);
  }

  /** `len` bytes from a `const char *` / `const void *` argument. */
  bytesAt(L: LuaState, idx: number, len: number, fn: string): Uint8Array {
    let bytes: Uint8Array;
    if (lua.lua_type(L, idx) === lua.LUA_TSTRING) bytes = lua.lua_tostring(L, idx);
    else {
      const cd = this.cdataAt(L, idx);
      if (!cd || !(cd.store instanceof Uint8Array)) {
        throw new Error(`${fn}: argument #${idx} must be a string or a char buffer, got ${describe(this.valueAt(L, idx))}`);
      }
      bytes = cd.store.subarray(cd.offset);
    }
    if (len < 0 || len > bytes.length) {
      throw new Error(`${fn}: argument #${idx} has ${bytes.length} bytes, fewer than the ${len} the length argument asks for`);
    }
    return bytes.subarray(0, len);
  }

  /** Write the out-parameter `*p` of a pointer argument (`const char **`, `size_t *`…). Nil is accepted and skipped. */
  setOut(L: LuaState, idx: number, value: unknown, fn: string): void {
    if (lua.lua_isnoneornil(L, idx)) return;
    const cd = this.cdataAt(L, idx);
    if (!cd || cd.store === null || Array.isArray(cd.store) === false || cd.offset >= cd.store.length) {
      throw new Error(
        `${fn}: argument #${idx} must be a pointer to where the result goes (e.g. ffi.new("size_t[1]")), got ${describe(this.valueAt(L, idx))}`,
      );
    }
    (cd.store as CellStore)[cd.offset] = value;
  }

  /** The elements of a struct array argument (`const dnsdist_ffi_raw_value_t *values`), `count` of them. */
  structsAt(L: LuaState, idx: number, count: number, structName: string, fn: string): StructValue[] {
    const cd = this.cdataAt(L, idx);
    if (!cd || !Array.isArray(cd.store) || cd.type.base !== structName) {
      throw new Error(
        `${fn}: argument #${idx} must be a '${structName} *' (e.g. ffi.new("${structName}[2]")), got ${describe(this.valueAt(L, idx))}`,
      );
    }
    if (count > cd.store.length - cd.offset) {
      throw new Error(`${fn}: the count (${count}) is more than the ${cd.store.length - cd.offset} elements of argument #${idx}`);
    }
    return cd.store.slice(cd.offset, cd.offset + count) as StructValue[];
  }

  /** Bytes a struct field points at (`value` + `size` of dnsdist_ffi_raw_value_t). */
  fieldBytes(value: unknown, size: number, what: string): Uint8Array {
    if (!(value instanceof CData) || !(value.store instanceof Uint8Array)) {
      throw new Error(`${what}: must point at bytes (assign a Lua string or a char buffer), got ${describe(value)}`);
    }
    if (size > value.store.length - value.offset) {
      throw new Error(`${what}: the size (${size}) is more than the ${value.store.length - value.offset} bytes it points at`);
    }
    return value.store.subarray(value.offset, value.offset + size);
  }

  /** A cell array of structs, for out-parameters (`const dnsdist_ffi_tag_t **`). */
  structArray(structName: string, values: StructValue[]): CData {
    return new CData({ base: structName, pointers: 1, array: undefined }, values, 0);
  }

  // ---- element and field access ------------------------------------------------------------

  #read(cd: CData, key: unknown): unknown {
    if (typeof key === 'number') return this.#readIndex(cd, key);
    if (key instanceof Uint8Array) return this.#readField(cd, Buffer.from(key).toString('utf8'));
    throw new Error(`cdata<${typeText(cd.type)}>: cannot index with a ${describe(key)}`);
  }

  #slot(cd: CData, i: number): { store: Uint8Array | CellStore; index: number; type: CType } {
    if (cd.handle)
      throw new Error(`cdata<${typeText(cd.type)}> is an opaque dnsdist handle: pass it to the ffi.C functions, it cannot be indexed`);
    if (cd.store === null) throw new Error(`attempt to index a NULL pointer (cdata<${typeText(cd.type)}>)`);
    if (cd.type.pointers === 0 && cd.type.array === undefined) {
      throw new Error(`cdata<${typeText(cd.type)}> is a struct: read its fields by name`);
    }
    if (!Number.isInteger(i)) throw new Error(`cdata<${typeText(cd.type)}>: the index ${i} is not an integer`);
    const index = cd.offset + i;
    if (index < 0 || index >= cd.store.length) {
      throw new Error(
        `cdata<${typeText(cd.type)}>: index ${i} is outside the ${cd.store.length - cd.offset} element(s) it points at (dnsdist-ts has no C memory beyond them)`,
      );
    }
    return { store: cd.store, index, type: this.types.element(cd.type) };
  }

  #readIndex(cd: CData, i: number): unknown {
    const { store, index, type } = this.#slot(cd, i);
    if (store instanceof Uint8Array) {
      const v = store[index]!;
      const scalar = this.types.scalar(type.base);
      return scalar?.kind === 'int' && v >= 128 ? v - 256 : v;
    }
    if (type.pointers === 0 && this.types.struct(type.base)) return new CData(type, store, index);
    return store[index];
  }

  #write(cd: CData, key: unknown, value: unknown): void {
    if (typeof key === 'number') {
      const { store, index, type } = this.#slot(cd, key);
      const v = convertForStore(this.types, type, value, `cdata<${typeText(cd.type)}>[${key}]`);
      if (store instanceof Uint8Array) store[index] = (v as number) & 0xff;
      else store[index] = v;
      return;
    }
    if (!(key instanceof Uint8Array)) throw new Error(`cdata<${typeText(cd.type)}>: cannot index with a ${describe(key)}`);
    const name = Buffer.from(key).toString('utf8');
    const { st, value: sv } = this.#structAt(cd, name);
    const field = st.fields.find((f) => f.name === name);
    if (!field) throw new Error(`cdata<${typeText(cd.type)}> has no field '${name}'`);
    if (field.type.array !== undefined) throw new Error(`cdata<${typeText(cd.type)}>.${name} is an array: set its elements`);
    sv[name] = convertForStore(this.types, field.type, value, `cdata<${typeText(cd.type)}>.${name}`);
  }

  #structAt(cd: CData, name: string): { st: NonNullable<ReturnType<FfiTypes['struct']>>; value: StructValue } {
    const st = this.types.struct(cd.type.base);
    const isStructRef = st && cd.type.array === undefined && cd.type.pointers <= 1;
    if (!st || !isStructRef || cd.handle) {
      throw new Error(`cdata<${typeText(cd.type)}> has no field '${name}' (it is not a struct)`);
    }
    if (cd.store === null || !Array.isArray(cd.store)) throw new Error(`attempt to read field '${name}' through a NULL pointer`);
    return { st, value: cd.store[cd.offset] as StructValue };
  }

  #readField(cd: CData, name: string): unknown {
    const st = this.types.struct(cd.type.base);
    if (st && st.metatable !== undefined && !st.fields.some((f) => f.name === name)) return METATYPE_LOOKUP;
    const { value } = this.#structAt(cd, name);
    if (!(name in value)) throw new Error(`cdata<${typeText(cd.type)}> has no field '${name}'`);
    const field = st!.fields.find((f) => f.name === name)!;
    const v = value[name];
    if (field.type.pointers === 0 && field.type.array === undefined && this.types.struct(field.type.base)) {
      return new CData(field.type, [v], 0);
    }
    return v;
  }

  // ---- the module's functions --------------------------------------------------------------

  /** A type argument: a C type string, a ctype object, or a cdata (its type). */
  #typeArg(L: LuaState, idx: number, fn: string): CType {
    if (lua.lua_type(L, idx) === lua.LUA_TSTRING) {
      // A type written in a script is one interned Lua string: after its first use it costs a WeakMap lookup, not a decode and parse.
      const bytes = lua.lua_tostring(L, idx);
      let t = this.#typeByString.get(bytes);
      if (t === undefined) {
        t = this.types.parse(lua.lua_tojsstring(L, idx));
        this.#typeByString.set(bytes, t);
      }
      return t;
    }
    const v = this.valueAt(L, idx);
    if (v instanceof CTypeObject) return v.type;
    if (v instanceof CData) return v.type;
    throw new Error(`${fn}: argument #${idx} must be a C type (a string such as "char[?]" or ffi.typeof(...)), got ${describe(v)}`);
  }

  #new(L: LuaState, type: CType, firstInit: number, fn: string): CData {
    const top = lua.lua_gettop(L);
    if (type.array !== undefined) {
      let n: number;
      let init = firstInit;
      if (type.array === '?') {
        if (lua.lua_type(L, firstInit) !== lua.LUA_TNUMBER)
          throw new Error(`${fn}: '${typeText(type)}' needs the number of elements as argument #${firstInit}`);
        n = Math.trunc(lua.lua_tonumber(L, firstInit));
        if (n < 0 || n > 64 * 1024 * 1024) throw new Error(`${fn}: ${n} elements is not a size dnsdist-ts allocates (0 to 64 Mi)`);
        init++;
      } else n = type.array;
      const cd = newArray(this.types, type, n);
      const element = this.types.element(type);
      const values: unknown[] = [];
      if (init <= top && lua.lua_type(L, init) === lua.LUA_TTABLE) {
        for (let i = 1; ; i++) {
          lua.lua_rawgeti(L, init, i);
          if (lua.lua_type(L, -1) === lua.LUA_TNIL) {
            lua.lua_pop(L, 1);
            break;
          }
          values.push(this.valueAt(L, -1));
          lua.lua_pop(L, 1);
        }
      } else for (let i = init; i <= top; i++) values.push(this.valueAt(L, i));
      if (values.length > n) throw new Error(`${fn}: ${values.length} initializers for ${n} elements`);
      if (values.length > 0 && this.types.struct(element.base) && element.pointers === 0) {
        throw new Error(`${fn}: initializing an array of structs is not supported; set the fields after ffi.new`);
      }
      values.forEach((v, i) => {
        const c = convertForStore(this.types, element, v, fn);
        if (cd.store instanceof Uint8Array) cd.store[i] = (c as number) & 0xff;
        else (cd.store as CellStore)[i] = c;
      });
      return cd;
    }
    if (type.pointers > 0) return new CData(type, null, 0);
    const st = this.types.struct(type.base);
    if (!st) {
      throw new Error(
        `${fn}: a boxed scalar ('${typeText(type)}') is not supported; use a one-element array (ffi.new("${typeText(type)}[1]")) and read [0]`,
      );
    }
    const value = defaultValue(this.types, type) as StructValue;
    if (firstInit <= top && lua.lua_type(L, firstInit) === lua.LUA_TTABLE) {
      for (const f of st.fields) {
        lua.lua_getfield(L, firstInit, to_luastring(f.name));
        if (lua.lua_type(L, -1) !== lua.LUA_TNIL)
          value[f.name] = convertForStore(this.types, f.type, this.valueAt(L, -1), `${fn} ${f.name}`);
        lua.lua_pop(L, 1);
      }
    } else {
      st.fields.forEach((f, i) => {
        if (firstInit + i <= top) value[f.name] = convertForStore(this.types, f.type, this.valueAt(L, firstInit + i), `${fn} ${f.name}`);
      });
    }
    return new CData(type, [value], 0);
  }

  #cast(L: LuaState, type: CType, idx: number): unknown {
    const v = this.valueAt(L, idx);
    const target = `ffi.cast("${typeText(type)}")`;
    if (type.pointers === 0 && type.array === undefined) {
      const scalar = this.types.scalar(type.base);
      if (scalar && typeof v === 'number') return convertForStore(this.types, type, v, target);
      if (scalar && typeof v === 'boolean') return v ? 1 : 0;
      throw new Error(`${target}: cannot convert a ${describe(v)} (only numbers cast to scalar types here: there are no addresses)`);
    }
    if (v === undefined || v === 0) return new CData(type, null, 0);
    if (v instanceof Uint8Array) {
      const bytes = new Uint8Array(v.length + 1);
      bytes.set(v);
      return new CData(type, bytes, 0);
    }
    if (!(v instanceof CData)) throw new Error(`${target}: cannot convert a ${describe(v)} to a pointer`);
    if (v.handle) {
      if (type.base === v.type.base || type.base === 'void') return new CData(type, null, 0, undefined, v.handle);
      throw new Error(`${target}: a '${typeText(v.type)}' handle cannot become another type`);
    }
    const target0 = this.types.element(type);
    const source0 = this.types.element(v.type);
    const targetBytes = this.types.isByte(target0);
    if (v.store !== null && targetBytes !== v.store instanceof Uint8Array) {
      throw new Error(
        `${target}: '${typeText(v.type)}' holds ${this.types.isByte(source0) ? 'bytes' : 'values'}, which cannot be reinterpreted as '${typeText(type)}' without C memory`,
      );
    }
    return new CData(type, v.store, v.offset, v.count);
  }

  #sizeof(L: LuaState): number {
    const v = this.valueAt(L, 1);
    if (v instanceof CData) {
      if (v.type.array !== undefined) return this.types.sizeOf(v.type, v.count);
      return this.types.sizeOf(v.type);
    }
    const t = this.#typeArg(L, 1, 'ffi.sizeof');
    const n = lua.lua_type(L, 2) === lua.LUA_TNUMBER ? Math.trunc(lua.lua_tonumber(L, 2)) : undefined;
    return this.types.sizeOf(t, n);
  }

  #string(L: LuaState): Uint8Array {
    if (lua.lua_type(L, 1) === lua.LUA_TSTRING) return lua.lua_tostring(L, 1);
    const cd = this.cdataAt(L, 1);
    if (!cd || cd.store === null) {
      throw new Error(`ffi.string: argument #1 must be a char pointer, got ${cd ? 'a NULL pointer' : describe(this.valueAt(L, 1))}`);
    }
    if (!(cd.store instanceof Uint8Array)) throw new Error(`ffi.string: cdata<${typeText(cd.type)}> does not point at bytes`);
    if (lua.lua_isnoneornil(L, 2)) {
      const end = cd.store.indexOf(0, cd.offset);
      return cd.store.subarray(cd.offset, end < 0 ? cd.store.length : end);
    }
    const len = Math.trunc(lua.lua_tonumber(L, 2));
    if (len < 0 || len > cd.store.length - cd.offset) {
      throw new Error(`ffi.string: the length ${len} is more than the ${cd.store.length - cd.offset} bytes behind the pointer`);
    }
    return cd.store.subarray(cd.offset, cd.offset + len);
  }

  #copy(L: LuaState): void {
    const dst = this.cdataAt(L, 1);
    if (!dst || !(dst.store instanceof Uint8Array))
      throw new Error(`ffi.copy: argument #1 must be a char buffer (ffi.new("char[?]", n)), got ${describe(this.valueAt(L, 1))}`);
    let src: Uint8Array;
    if (lua.lua_isnoneornil(L, 3)) {
      if (lua.lua_type(L, 2) !== lua.LUA_TSTRING) throw new Error('ffi.copy: without a length the source must be a Lua string');
      const s = lua.lua_tostring(L, 2);
      src = new Uint8Array(s.length + 1);
      src.set(s);
    } else {
      const len = Math.trunc(lua.lua_tonumber(L, 3));
      src = this.bytesAt(L, 2, len, 'ffi.copy');
    }
    if (src.length > dst.store.length - dst.offset) {
      throw new Error(`ffi.copy: ${src.length} bytes do not fit in the ${dst.store.length - dst.offset} bytes of the destination`);
    }
    dst.store.set(src, dst.offset);
  }

  #fill(L: LuaState): void {
    const dst = this.cdataAt(L, 1);
    if (!dst || !(dst.store instanceof Uint8Array))
      throw new Error(`ffi.fill: argument #1 must be a char buffer, got ${describe(this.valueAt(L, 1))}`);
    const len = Math.trunc(lua.lua_tonumber(L, 2));
    const c = lua.lua_isnoneornil(L, 3) ? 0 : Math.trunc(lua.lua_tonumber(L, 3)) & 0xff;
    if (len < 0 || len > dst.store.length - dst.offset)
      throw new Error(`ffi.fill: ${len} bytes do not fit in the ${dst.store.length - dst.offset} bytes of the destination`);
    dst.store.fill(c, dst.offset, dst.offset + len);
  }

  #cdef(L: LuaState): void {
    const source = lua.lua_tojsstring(L, 1);
    const result = parseCdef(this.types, source);
    // A typedef may have given an earlier name a new meaning.
    this.#typeByString = new WeakMap();
    for (const [name, text] of result.functions) this.#declared.set(name, text);
    if (result.constants.size > 0) {
      lua.lua_rawgeti(L, REGISTRY, this.#cRef);
      for (const [name, value] of result.constants) {
        // Raw: ffi.C's __newindex refuses assignments from Lua.
        lua.lua_pushstring(L, to_luastring(name));
        lua.lua_pushinteger(L, value);
        lua.lua_rawset(L, -3);
      }
      lua.lua_pop(L, 1);
    }
  }

  // ---- Lua plumbing ------------------------------------------------------------------------

  /** A JS function for Lua whose exceptions become Lua errors at the calling line. */
  guard(name: string, body: JsFunction): JsFunction {
    return (L) => {
      let failure: string;
      try {
        return body(L);
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
        if (!(err instanceof FfiTypeError) && !failure.startsWith(name) && !failure.startsWith('cdata<') && !failure.startsWith('ffi')) {
          failure = `${name}: ${failure}`;
        }
      }
      lauxlib.luaL_where(L, 1);
      const where = lua.lua_tojsstring(L, -1);
      lua.lua_pop(L, 1);
      lua.lua_pushstring(L, to_luastring(`${where}${failure}`));
      return lua.lua_error(L);
    };
  }

  #setFunction(name: string, body: JsFunction): void {
    lua.lua_pushjsfunction(this.L, this.guard(name, body));
    lua.lua_setfield(this.L, -2, to_luastring(name.replace(/^ffi\./, '')));
  }

  #buildCdataMetatable(): number {
    const L = this.L;
    lua.lua_createtable(L, 0, 8);
    this.#setFunction('__index', (l) => {
      const cd = this.cdataAt(l, 1)!;
      const v = this.#read(cd, this.valueAt(l, 2));
      if (v === METATYPE_LOOKUP) return this.#metatypeIndex(l, cd);
      this.pushValue(l, v);
      return 1;
    });
    this.#setFunction('__newindex', (l) => {
      this.#write(this.cdataAt(l, 1)!, this.valueAt(l, 2), this.valueAt(l, 3));
      return 0;
    });
    this.#setFunction('__eq', (l) => {
      const a = this.cdataAt(l, 1);
      const b = this.cdataAt(l, 2);
      lua.lua_pushboolean(l, a !== undefined && b !== undefined && samePointer(a, b));
      return 1;
    });
    this.#setFunction('__add', (l) => {
      const [cd, n] = this.cdataAt(l, 1) ? [this.cdataAt(l, 1)!, this.valueAt(l, 2)] : [this.cdataAt(l, 2)!, this.valueAt(l, 1)];
      if (typeof n !== 'number' || cd.store === null)
        throw new Error(`cdata<${typeText(cd.type)}>: only a number can be added to a pointer`);
      const element = this.types.element(cd.type);
      this.pushCData(l, new CData({ ...element, pointers: element.pointers + 1 }, cd.store, cd.offset + Math.trunc(n)));
      return 1;
    });
    this.#setFunction('__len', (l) => {
      throw new Error(`attempt to get length of cdata<${typeText(this.cdataAt(l, 1)!.type)}> (a C value has no length: keep the count)`);
    });
    this.#setFunction('__tostring', (l) => {
      const cd = this.cdataAt(l, 1)!;
      if (cd.store === null && !cd.handle) lua.lua_pushstring(l, to_luastring(`cdata<${typeText(cd.type)}>: NULL`));
      else lua.lua_pushstring(l, to_luastring(`cdata<${typeText(cd.type)}>: 0x${this.#fakeAddress(cd).toString(16).padStart(8, '0')}`));
      return 1;
    });
    return lauxlib.luaL_ref(L, REGISTRY);
  }

  /** ffi.metatype's __index for names that are not fields. */
  #metatypeIndex(L: LuaState, cd: CData): number {
    const st = this.types.struct(cd.type.base)!;
    lua.lua_rawgeti(L, REGISTRY, st.metatable!);
    lua.lua_getfield(L, -1, to_luastring('__index'));
    const t = lua.lua_type(L, -1);
    if (t === lua.LUA_TTABLE) {
      lua.lua_pushvalue(L, 2);
      lua.lua_gettable(L, -2);
      return 1;
    }
    if (t === lua.LUA_TFUNCTION) {
      lua.lua_pushvalue(L, 1);
      lua.lua_pushvalue(L, 2);
      lua.lua_call(L, 2, 1);
      return 1;
    }
    lua.lua_pushnil(L);
    return 1;
  }

  /** A stable made-up address per store, for tostring (there is no real one). */
  #fakeAddress(cd: CData): number {
    const key = (cd.handle ?? cd.store) as object;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#nextId;
      this.#nextId += 0x1000;
      this.#ids.set(key, id);
    }
    return id + cd.offset;
  }

  #buildCtypeMetatable(): number {
    const L = this.L;
    lua.lua_createtable(L, 0, 2);
    this.#setFunction('__call', (l) => {
      const ct = lua.lua_touserdata(l, 1)?.[CTYPE_SLOT] as CTypeObject;
      this.pushCData(l, this.#new(l, ct.type, 2, `ffi.new("${typeText(ct.type)}")`));
      return 1;
    });
    this.#setFunction('__tostring', (l) => {
      const ct = lua.lua_touserdata(l, 1)?.[CTYPE_SLOT] as CTypeObject;
      lua.lua_pushstring(l, to_luastring(`ctype<${typeText(ct.type)}>`));
      return 1;
    });
    return lauxlib.luaL_ref(L, REGISTRY);
  }

  #pushCType(L: LuaState, type: CType): void {
    const ud = lua.lua_newuserdata(L, 0);
    ud[CTYPE_SLOT] = new CTypeObject(type);
    lua.lua_rawgeti(L, REGISTRY, this.#ctypeMetatableRef);
    lua.lua_setmetatable(L, -2);
  }

  #buildC(constants: ReadonlyMap<string, number>): number {
    const L = this.L;
    lua.lua_createtable(L, 0, this.#functions.size + constants.size);
    for (const [name, impl] of this.#functions) {
      lua.lua_pushjsfunction(
        L,
        this.guard(name, (l) => impl(l, this)),
      );
      lua.lua_setfield(L, -2, to_luastring(name));
    }
    for (const [name, value] of constants) {
      lua.lua_pushinteger(L, value);
      lua.lua_setfield(L, -2, to_luastring(name));
    }
    lua.lua_createtable(L, 0, 2);
    this.#setFunction('__index', (l) => {
      const name = lua.lua_tojsstring(l, 2);
      const declared = this.#declared.get(name);
      if (declared !== undefined) {
        throw new Error(
          `ffi.C.${name}: declared with ffi.cdef, but dnsdist-ts has no such C function (it provides dnsdist's dnsdist_ffi_* interface only, no C libraries)`,
        );
      }
      throw new Error(
        `ffi.C.${name}: missing declaration for symbol '${name}' (dnsdist-ts provides dnsdist's dnsdist_ffi_* functions only)`,
      );
    });
    this.#setFunction('__newindex', (l) => {
      throw new Error(`ffi.C.${lua.lua_tojsstring(l, 2)}: ffi.C cannot be assigned to`);
    });
    lua.lua_setmetatable(L, -2);
    return lauxlib.luaL_ref(L, REGISTRY);
  }

  #buildModule(): number {
    const L = this.L;
    lua.lua_createtable(L, 0, 20);
    lua.lua_rawgeti(L, REGISTRY, this.#cRef);
    lua.lua_setfield(L, -2, to_luastring('C'));
    this.#setFunction('ffi.cdef', (l) => {
      if (lua.lua_type(l, 1) !== lua.LUA_TSTRING) throw new Error('ffi.cdef: argument #1 must be a string of C declarations');
      this.#cdef(l);
      return 0;
    });
    this.#setFunction('ffi.new', (l) => {
      const t = this.#typeArg(l, 1, 'ffi.new');
      this.pushCData(l, this.#new(l, t, 2, `ffi.new("${typeText(t)}")`));
      return 1;
    });
    this.#setFunction('ffi.cast', (l) => {
      this.pushValue(l, this.#cast(l, this.#typeArg(l, 1, 'ffi.cast'), 2));
      return 1;
    });
    this.#setFunction('ffi.typeof', (l) => {
      this.#pushCType(l, this.#typeArg(l, 1, 'ffi.typeof'));
      return 1;
    });
    this.#setFunction('ffi.istype', (l) => {
      const t = this.#typeArg(l, 1, 'ffi.istype');
      const cd = this.cdataAt(l, 2);
      lua.lua_pushboolean(l, cd !== undefined && typeText(cd.type) === typeText(t));
      return 1;
    });
    this.#setFunction('ffi.sizeof', (l) => {
      lua.lua_pushinteger(l, this.#sizeof(l));
      return 1;
    });
    this.#setFunction('ffi.alignof', (l) => {
      lua.lua_pushinteger(l, this.types.alignOf(this.#typeArg(l, 1, 'ffi.alignof')));
      return 1;
    });
    this.#setFunction('ffi.string', (l) => {
      lua.lua_pushstring(l, this.#string(l));
      return 1;
    });
    this.#setFunction('ffi.copy', (l) => {
      this.#copy(l);
      return 0;
    });
    this.#setFunction('ffi.fill', (l) => {
      this.#fill(l);
      return 0;
    });
    this.#setFunction('ffi.gc', (l) => {
      // Nothing here is C memory, so there is nothing for a finalizer to free: the value is returned unchanged.
      if (!this.cdataAt(l, 1)) throw new Error(`ffi.gc: argument #1 must be a cdata, got ${describe(this.valueAt(l, 1))}`);
      lua.lua_pushvalue(l, 1);
      return 1;
    });
    this.#setFunction('ffi.metatype', (l) => {
      const t = this.#typeArg(l, 1, 'ffi.metatype');
      const st = t.pointers === 0 && t.array === undefined ? this.types.struct(t.base) : undefined;
      if (!st) throw new Error(`ffi.metatype: '${typeText(t)}' is not a struct type`);
      if (lua.lua_type(l, 2) !== lua.LUA_TTABLE) throw new Error('ffi.metatype: argument #2 must be a table');
      if (st.metatable !== undefined) throw new Error(`ffi.metatype: '${typeText(t)}' already has a metatable`);
      lua.lua_pushnil(l);
      while (lua.lua_next(l, 2) !== 0) {
        const key = lua.lua_type(l, -2) === lua.LUA_TSTRING ? lua.lua_tojsstring(l, -2) : '?';
        lua.lua_pop(l, 1);
        if (key !== '__index') {
          throw new Error(`ffi.metatype: '${key}' is not supported (only __index: methods and defaults for struct values)`);
        }
      }
      lua.lua_pushvalue(l, 2);
      st.metatable = lauxlib.luaL_ref(l, REGISTRY);
      this.#pushCType(l, t);
      return 1;
    });
    this.#setFunction('ffi.abi', (l) => {
      const what = lua.lua_tojsstring(l, 1);
      lua.lua_pushboolean(l, what === '64bit' || what === 'le');
      return 1;
    });
    this.#setFunction('ffi.errno', (l) => {
      lua.lua_pushinteger(l, 0);
      return 1;
    });
    this.#setFunction('ffi.load', (l) => {
      throw new Error(
        `ffi.load("${lua.lua_tojsstring(l, 1)}"): dnsdist-ts cannot load C libraries (its ffi module is a compatibility layer over dnsdist's interface)`,
      );
    });
    lua.lua_pushstring(L, to_luastring('Linux'));
    lua.lua_setfield(L, -2, to_luastring('os'));
    lua.lua_pushstring(L, to_luastring('x64'));
    lua.lua_setfield(L, -2, to_luastring('arch'));
    return lauxlib.luaL_ref(L, REGISTRY);
  }
}

const METATYPE_LOOKUP = Symbol('metatype lookup');

function samePointer(a: CData, b: CData): boolean {
  if (a.handle || b.handle) return a.handle === b.handle;
  return a.store === b.store && a.offset === b.offset;
}
