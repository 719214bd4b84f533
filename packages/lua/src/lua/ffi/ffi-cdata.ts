/**
 * Values of the `ffi` compatibility module ("cdata"). There is no C memory:
 * a cdata is a type plus a place in a JS store.
 *
 * - Byte stores (Uint8Array) hold char / uint8_t arrays and whatever a
 *   `char*` or `void*` points at (a qname, an EDNS option's data, the
 *   packet's header: writes through such a pointer change those bytes).
 * - Cell stores (arrays) hold everything else, one element per cell: numbers
 *   for scalars, a StructValue per struct, and cdata (or null) per pointer.
 *
 * `ffi.cast` between pointer types re-types the same store (so the usual
 * `ffi.cast("const char **", ffi.new("char *[1]"))` out-parameter works),
 * and is refused when the two element types are held differently.
 */
import type { CType, FfiTypes } from './ffi-types.js';
import { FfiTypeError, typeText } from './ffi-types.js';

/** One struct's field values, by name. */
export type StructValue = Record<string, unknown>;

export type CellStore = unknown[];

/**
 * A pointer, an array or a struct value: `type` seen at `offset` of `store`.
 * An opaque handle (dnsdist's dq, servers list…) has `handle` set and no store.
 */
export class CData {
  readonly type: CType;
  readonly store: Uint8Array | CellStore | null;
  readonly offset: number;
  /** A '?' array's length. */
  readonly count: number | undefined;
  readonly handle: object | undefined;

  constructor(type: CType, store: Uint8Array | CellStore | null, offset = 0, count?: number, handle?: object) {
    this.type = type;
    this.store = store;
    this.offset = offset;
    this.count = count;
    this.handle = handle;
  }

  /** A `const char *` over bytes (a C string: callers end it with a NUL when it is one). */
  static bytes(bytes: Uint8Array): CData {
    return new CData(CHAR_POINTER, bytes, 0);
  }

  /** A NUL-terminated copy of `text` as `const char *`. */
  static cString(text: string | Uint8Array): CData {
    const src = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    const bytes = new Uint8Array(src.length + 1);
    bytes.set(src, 0);
    return CData.bytes(bytes);
  }

  /** An opaque handle typed `base *`. */
  static handle(base: string, handle: object): CData {
    return new CData({ base, pointers: 1, array: undefined }, null, 0, undefined, handle);
  }

  /** Elements from offset on, as the type's length or up to the store's end. */
  get length(): number {
    if (this.store === null) return 0;
    return this.store.length - this.offset;
  }
}

export const CHAR_POINTER: CType = { base: 'char', pointers: 1, array: undefined };

/** The default value of one element: 0, false, a fresh struct, or null for a pointer. */
export function defaultValue(types: FfiTypes, t: CType): unknown {
  if (t.pointers > 0) return null;
  const scalar = types.scalar(t.base);
  if (scalar) return scalar.kind === 'bool' ? false : 0;
  const st = types.struct(t.base);
  if (!st) throw new FfiTypeError(typeText(t), `ffi: '${typeText(t)}' cannot be created (an opaque handle)`);
  const v: StructValue = {};
  for (const f of st.fields) {
    v[f.name] = f.type.array !== undefined ? newArray(types, f.type, f.type.array === '?' ? 0 : f.type.array) : defaultValue(types, f.type);
  }
  return v;
}

/** ffi.new of an array type: `n` elements. */
export function newArray(types: FfiTypes, t: CType, n: number): CData {
  const element = types.element(t);
  if (types.isByte(element)) return new CData(t, new Uint8Array(n), 0, n);
  const cells: CellStore = new Array(n);
  for (let i = 0; i < n; i++) cells[i] = defaultValue(types, element);
  return new CData(t, cells, 0, n);
}

/**
 * Convert a Lua value for storing as type `t` (C's implicit conversions,
 * as far as configurations use them): numbers truncated to the integer
 * width, Lua strings to `const char *`, cdata pointers re-typed.
 */
export function convertForStore(types: FfiTypes, t: CType, value: unknown, where: string): unknown {
  if (t.pointers > 0 || t.array !== undefined) {
    if (value === undefined || value === null) return null;
    if (value instanceof CData) return value;
    if (value instanceof Uint8Array) return CData.cString(value);
    if (typeof value === 'string') return CData.cString(value);
    throw new FfiTypeError(typeText(t), `${where}: cannot convert a ${describe(value)} to '${typeText(t)}'`);
  }
  const scalar = types.scalar(t.base);
  if (!scalar) throw new FfiTypeError(typeText(t), `${where}: a struct cannot be assigned as a whole here; set its fields`);
  if (scalar.kind === 'bool') return value !== false && value !== undefined && value !== null && value !== 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value !== 'number') {
    throw new FfiTypeError(typeText(t), `${where}: cannot convert a ${describe(value)} to '${typeText(t)}'`);
  }
  return truncate(scalar.kind, scalar.size, value);
}

export function truncate(kind: 'int' | 'uint' | 'float', size: number, value: number): number {
  if (kind === 'float') return size === 4 ? Math.fround(value) : value;
  const v = Math.trunc(value);
  if (size >= 8) return v;
  const bits = size * 8;
  const mod = 2 ** bits;
  let u = ((v % mod) + mod) % mod;
  if (kind === 'int' && u >= mod / 2) u -= mod;
  return u;
}

export function describe(value: unknown): string {
  if (value === undefined || value === null) return 'nil';
  if (value instanceof CData) return `cdata<${typeText(value.type)}>`;
  if (value instanceof Uint8Array) return 'string';
  return typeof value;
}
