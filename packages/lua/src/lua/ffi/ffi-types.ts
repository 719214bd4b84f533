/**
 * The C types the `ffi` compatibility module understands: scalars, pointers,
 * one array dimension, structs of those, and opaque handles. There is no C
 * memory behind them (see ffi-cdata.ts): a type decides how a value is held
 * (bytes or cells) and converted, and how big `ffi.sizeof` says it is.
 */

/** A type or declaration the module cannot make sense of; the message names the text. */
export class FfiTypeError extends Error {
  /** The offending text as written. */
  readonly text: string;
  constructor(text: string, message: string) {
    super(message);
    this.name = 'FfiTypeError';
    this.text = text;
  }
}

/** A scalar's conversion: integer width and signedness, or floating point, or bool. */
export interface ScalarInfo {
  readonly size: number;
  readonly kind: 'int' | 'uint' | 'float' | 'bool';
}

/**
 * A parsed type: `base` with `pointers` levels of indirection, optionally
 * an array of `array` of those (`'?'`: the length comes from ffi.new).
 */
export interface CType {
  readonly base: string;
  readonly pointers: number;
  readonly array: number | '?' | undefined;
}

export interface StructField {
  readonly name: string;
  readonly type: CType;
}

export interface StructDef {
  readonly name: string;
  readonly fields: readonly StructField[];
  /** ffi.metatype's table, when one was given. */
  metatable: number | undefined;
}

const SCALARS: Record<string, ScalarInfo> = {
  char: { size: 1, kind: 'int' },
  'signed char': { size: 1, kind: 'int' },
  'unsigned char': { size: 1, kind: 'uint' },
  int8_t: { size: 1, kind: 'int' },
  uint8_t: { size: 1, kind: 'uint' },
  bool: { size: 1, kind: 'bool' },
  _Bool: { size: 1, kind: 'bool' },
  short: { size: 2, kind: 'int' },
  'unsigned short': { size: 2, kind: 'uint' },
  int16_t: { size: 2, kind: 'int' },
  uint16_t: { size: 2, kind: 'uint' },
  int: { size: 4, kind: 'int' },
  'unsigned int': { size: 4, kind: 'uint' },
  unsigned: { size: 4, kind: 'uint' },
  int32_t: { size: 4, kind: 'int' },
  uint32_t: { size: 4, kind: 'uint' },
  long: { size: 8, kind: 'int' },
  'unsigned long': { size: 8, kind: 'uint' },
  'long long': { size: 8, kind: 'int' },
  'unsigned long long': { size: 8, kind: 'uint' },
  int64_t: { size: 8, kind: 'int' },
  uint64_t: { size: 8, kind: 'uint' },
  size_t: { size: 8, kind: 'uint' },
  ssize_t: { size: 8, kind: 'int' },
  intptr_t: { size: 8, kind: 'int' },
  uintptr_t: { size: 8, kind: 'uint' },
  ptrdiff_t: { size: 8, kind: 'int' },
  float: { size: 4, kind: 'float' },
  double: { size: 8, kind: 'float' },
};

const QUALIFIERS = new Set(['const', 'volatile', 'struct', 'enum', 'restrict', '__restrict']);

/**
 * What one Lua state has declared: the built-in scalars, the structs and
 * opaque types of dnsdist's FFI header, and whatever ffi.cdef added.
 */
export class FfiTypes {
  readonly #structs = new Map<string, StructDef>();
  /** Opaque handles (dnsdist_ffi_dnsquestion_t…): only pointers to them exist. */
  readonly #opaque = new Set<string>();
  /** typedef names for other types (enums are `int`). */
  readonly #aliases = new Map<string, CType>();
  readonly #parsed = new Map<string, CType>();

  defineStruct(name: string, fields: StructField[]): void {
    const existing = this.#structs.get(name);
    if (existing && !sameFields(existing.fields, fields)) {
      throw new FfiTypeError(name, `ffi.cdef: '${name}' is already declared with other fields`);
    }
    if (!existing) this.#structs.set(name, { name, fields, metatable: undefined });
  }

  defineOpaque(name: string): void {
    if (!this.#structs.has(name)) this.#opaque.add(name);
  }

  defineAlias(name: string, type: CType): void {
    this.#aliases.set(name, type);
    this.#parsed.clear();
  }

  struct(name: string): StructDef | undefined {
    return this.#structs.get(name);
  }

  isOpaque(name: string): boolean {
    return this.#opaque.has(name);
  }

  /** The scalar a base names (through typedefs), or undefined for structs, opaque types and void. */
  scalar(base: string): ScalarInfo | undefined {
    return SCALARS[base];
  }

  /** Is `base` a name this state knows? */
  known(base: string): boolean {
    return base === 'void' || base in SCALARS || this.#structs.has(base) || this.#opaque.has(base);
  }

  /**
   * Parse a type as written in Lua ("const char *[1]", "size_t*",
   * "dnsdist_ffi_raw_value_t [2]", "char[?]"). Cached per text.
   * @throws FfiTypeError naming the text when it is not a type this module knows.
   */
  parse(text: string): CType {
    let t = this.#parsed.get(text);
    if (t === undefined) {
      t = this.#parseUncached(text);
      this.#parsed.set(text, t);
    }
    return t;
  }

  #parseUncached(text: string): CType {
    const m = /^([A-Za-z_][\w\s]*?)\s*((?:\*\s*(?:const\s*)?)*)\s*(?:\[\s*(\d+|\?)?\s*\])?\s*$/.exec(text.trim());
    if (!m)
      throw new FfiTypeError(text, `ffi: cannot read the C type '${text}' (supported: scalars, structs, pointers and one array dimension)`);
    const words = m[1]!.split(/\s+/).filter((w) => !QUALIFIERS.has(w));
    const base = words.join(' ');
    const pointers = (m[2]!.match(/\*/g) ?? []).length;
    if (m[3] === undefined && /\[/.test(text)) {
      throw new FfiTypeError(text, `ffi: the array in '${text}' needs a length or '?'`);
    }
    const array = m[3] === undefined ? undefined : m[3] === '?' ? '?' : Number(m[3]);
    const alias = this.#aliases.get(base);
    if (alias) {
      if (alias.array !== undefined && (pointers > 0 || array !== undefined)) {
        throw new FfiTypeError(text, `ffi: '${text}': pointers to or arrays of the array type '${base}' are not supported`);
      }
      return { base: alias.base, pointers: alias.pointers + pointers, array: array ?? alias.array };
    }
    if (!this.known(base)) {
      throw new FfiTypeError(text, `ffi: unknown C type '${base}' in '${text}' (declare it with ffi.cdef first)`);
    }
    if (base === 'void' && pointers === 0) throw new FfiTypeError(text, `ffi: '${text}' has no values (void)`);
    if (this.#opaque.has(base) && pointers === 0) {
      throw new FfiTypeError(text, `ffi: '${base}' is an opaque dnsdist handle: only pointers to it exist`);
    }
    return { base, pointers, array };
  }

  /** The type of `t[i]` / `*t`. */
  element(t: CType): CType {
    if (t.array !== undefined) return { base: t.base, pointers: t.pointers, array: undefined };
    return { base: t.base, pointers: t.pointers - 1, array: undefined };
  }

  /** Are elements of this (non-array) type held as bytes (char, uint8_t, void behind a pointer)? */
  isByte(t: CType): boolean {
    if (t.pointers !== 0 || t.array !== undefined) return false;
    if (t.base === 'void') return true;
    const s = SCALARS[t.base];
    return s !== undefined && s.size === 1 && s.kind !== 'bool';
  }

  /** sizeof, with C's alignment for struct fields (x86-64). `count` is a '?' array's length. */
  sizeOf(t: CType, count?: number): number {
    const one = this.#sizeOfElement({ base: t.base, pointers: t.pointers, array: undefined });
    if (t.array === undefined) return one;
    const n = t.array === '?' ? count : t.array;
    if (n === undefined) throw new FfiTypeError(typeText(t), `ffi.sizeof: '${typeText(t)}' has no length (give one)`);
    return one * n;
  }

  #sizeOfElement(t: CType): number {
    if (t.pointers > 0) return 8;
    const s = SCALARS[t.base];
    if (s) return s.size;
    const st = this.#structs.get(t.base);
    if (!st) throw new FfiTypeError(t.base, `ffi.sizeof: '${t.base}' has no size here (an opaque handle or void)`);
    return this.#layout(st).size;
  }

  alignOf(t: CType): number {
    if (t.pointers > 0) return 8;
    const s = SCALARS[t.base];
    if (s) return s.size;
    const st = this.#structs.get(t.base);
    return st ? this.#layout(st).align : 1;
  }

  #layout(st: StructDef): { size: number; align: number } {
    let offset = 0;
    let align = 1;
    for (const f of st.fields) {
      const a = this.alignOf(f.type);
      align = Math.max(align, a);
      offset = Math.ceil(offset / a) * a + this.sizeOf(f.type);
    }
    return { size: Math.ceil(offset / align) * align, align };
  }
}

/** The canonical text of a type, as LuaJIT prints it in errors and tostring ("const char *", "size_t [1]"). */
export function typeText(t: CType): string {
  const stars = t.pointers > 0 ? ` ${'*'.repeat(t.pointers)}` : '';
  const array = t.array === undefined ? '' : ` [${t.array === '?' ? '?' : t.array}]`;
  return `${t.base}${stars}${array}`;
}

function sameFields(a: readonly StructField[], b: readonly StructField[]): boolean {
  return a.length === b.length && a.every((f, i) => f.name === b[i]!.name && typeText(f.type) === typeText(b[i]!.type));
}
