/**
 * One call of a dnsdist function written back as Lua text, so that another
 * Lua state (a data-plane worker) can make the same call: plain data (nil,
 * booleans, numbers, strings, tables of them) as literals, objects as the
 * text a caller gives for them (a global's name, the getter or constructor
 * call that made them: maintenance-changes.ts). Pure: no Lua state here.
 */
import { LuaBytes } from '@dnsdist-ts/lua/lua/lua-bytes.js';
import { LuaTable, type LuaFunctionLike, type LuaValue } from '@dnsdist-ts/lua/lua/lua-table.js';

/** How deep tables may nest, as the Lua globals copy allows (lua-globals-copy.ts). */
const MAX_DEPTH = 32;

/** A value that cannot be written as Lua text; `why` says what it is ("a Lua function", …). */
export class CannotRebuildError extends Error {
  readonly why: string;
  constructor(why: string) {
    super(why);
    this.name = 'CannotRebuildError';
    this.why = why;
  }
}

/**
 * The Lua text that yields `obj` in another state. `self`: the object a
 * method is called on, which must be that state's own object (a copy
 * would take the change instead of it). Throws CannotRebuildError.
 */
export type ObjectText = (obj: object, self: boolean) => string;

function isFunction(v: object): v is LuaFunctionLike {
  return 'call' in v && typeof (v as LuaFunctionLike).call === 'function';
}

/** A Lua string literal of these bytes: printable ASCII as is, the rest as three-digit decimal escapes. */
export function luaStringLiteral(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    if (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c) out += String.fromCharCode(b);
    else out += `\\${String(b).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** A Lua numeral for `n` that reads back as the same number (the integer/float subtype aside). */
export function luaNumberLiteral(n: number): string {
  if (Number.isNaN(n)) return '(0/0)';
  if (n === Infinity) return '(1/0)';
  if (n === -Infinity) return '(-1/0)';
  if (Object.is(n, -0)) return '(-0.0)';
  return n < 0 ? `(${String(n)})` : String(n);
}

/** `v` as a Lua expression. Throws CannotRebuildError for a function, or what `objectText` refuses. */
export function luaLiteral(v: LuaValue, objectText: ObjectText, depth = 0): string {
  if (v === undefined || v === null) return 'nil';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return luaNumberLiteral(v);
  if (typeof v === 'string') return luaStringLiteral(Buffer.from(v, 'utf8'));
  if (v instanceof LuaBytes) return luaStringLiteral(v.bytes);
  if (v instanceof LuaTable) {
    if (depth >= MAX_DEPTH) throw new CannotRebuildError(`a table nested over ${MAX_DEPTH} levels`);
    const parts: string[] = [];
    // Integer keys in order first (a list reads as one), then the others as Lua listed them.
    const entries = [...v.entries].sort(([a], [b]) =>
      typeof a === 'number' ? (typeof b === 'number' ? a - b : -1) : typeof b === 'number' ? 1 : 0,
    );
    for (const [k, val] of entries) {
      const key = typeof k === 'object' ? luaLiteral(k as LuaValue, objectText, depth + 1) : luaLiteral(k, objectText, depth + 1);
      parts.push(`[${key}]=${luaLiteral(val, objectText, depth + 1)}`);
    }
    return `{${parts.join(', ')}}`;
  }
  if (typeof v === 'object') {
    if (isFunction(v)) throw new CannotRebuildError('a Lua function');
    return objectText(v, false);
  }
  throw new CannotRebuildError(`a ${typeof v}`);
}

/** Where an argument could not be rebuilt: its position (1-based; 0 is a method's object) and why. */
export interface UnbuildableArgument {
  position: number;
  why: string;
}

/**
 * The call `name(args…)` ("f" or "Class:method", whose first value is the
 * object) as Lua text, trailing nils left out; or which argument cannot be
 * written, and why.
 */
export function luaCallText(name: string, values: readonly LuaValue[], objectText: ObjectText): string | UnbuildableArgument {
  const colon = name.indexOf(':');
  let n = values.length;
  while (n > 0 && values[n - 1] === undefined) n--;
  const first = colon >= 0 ? 1 : 0;
  let head = name;
  if (colon >= 0) {
    const self = values[0];
    if (typeof self !== 'object' || self === null || self instanceof LuaTable || self instanceof LuaBytes) {
      return { position: 0, why: 'not an object' };
    }
    try {
      head = `${objectText(self, true)}:${name.slice(colon + 1)}`;
    } catch (err) {
      if (err instanceof CannotRebuildError) return { position: 0, why: err.why };
      throw err;
    }
  }
  const args: string[] = [];
  for (let i = first; i < n; i++) {
    try {
      args.push(luaLiteral(values[i], objectText));
    } catch (err) {
      if (err instanceof CannotRebuildError) return { position: i - first + 1, why: err.why };
      throw err;
    }
  }
  return `${head}(${args.join(', ')})`;
}
