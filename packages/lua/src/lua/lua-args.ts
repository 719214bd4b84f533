import { bytesOfLuaString, LuaBytes } from './lua-bytes.js';
import { LuaBindingError } from './lua-errors.js';
import { LuaTable, type LuaFunctionLike, type LuaValue } from './lua-table.js';

function typeOf(v: LuaValue): string {
  if (v === undefined) return 'nil';
  if (v instanceof LuaTable) return 'table';
  if (typeof v === 'object' && v !== null && 'call' in v && typeof (v as LuaFunctionLike).call === 'function') return 'function';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'userdata';
  return typeof v;
}

/**
 * The arguments of one call from Lua into a binding, already converted to
 * JS values. Accessors check types and throw errors naming the function and
 * the argument, which the runtime reports at the calling Lua line.
 */
export class LuaArgs {
  readonly fn: string;
  readonly values: LuaValue[];

  constructor(fn: string, values: LuaValue[]) {
    this.fn = fn;
    this.values = values;
  }

  get count(): number {
    let n = this.values.length;
    while (n > 0 && this.values[n - 1] === undefined) n--;
    return n;
  }

  raw(i: number): LuaValue {
    return this.values[i];
  }

  isNil(i: number): boolean {
    return this.values[i] === undefined;
  }

  fail(i: number, expected: string): never {
    throw new LuaBindingError(`${this.fn}: argument #${i + 1} must be ${expected}, got ${typeOf(this.values[i])}`);
  }

  string(i: number): string {
    const v = this.values[i];
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    if (v instanceof LuaBytes) return v.toString();
    return this.fail(i, 'a string');
  }

  /** A Lua string's bytes, exactly (strings that are not UTF-8 included). */
  bytes(i: number): Uint8Array {
    const b = bytesOfLuaString(this.values[i]);
    if (b !== undefined) return b;
    return this.fail(i, 'a string');
  }

  /** A string or a table of strings, as bytes. */
  bytesOrBytesList(i: number): Uint8Array[] {
    const v = this.values[i];
    if (v instanceof LuaTable) {
      return v.values().map((x) => bytesOfLuaString(x) ?? this.fail(i, 'a string or a table of strings'));
    }
    return [this.bytes(i)];
  }

  optString(i: number, dflt: string): string;
  optString(i: number): string | undefined;
  optString(i: number, dflt?: string): string | undefined {
    return this.values[i] === undefined ? dflt : this.string(i);
  }

  number(i: number): number {
    const v = this.values[i];
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
    return this.fail(i, 'a number');
  }

  optNumber(i: number, dflt: number): number;
  optNumber(i: number): number | undefined;
  optNumber(i: number, dflt?: number): number | undefined {
    return this.values[i] === undefined ? dflt : this.number(i);
  }

  integer(i: number): number {
    const n = this.number(i);
    if (!Number.isInteger(n)) this.fail(i, 'an integer');
    return n;
  }

  optInteger(i: number, dflt: number): number;
  optInteger(i: number): number | undefined;
  optInteger(i: number, dflt?: number): number | undefined {
    return this.values[i] === undefined ? dflt : this.integer(i);
  }

  boolean(i: number): boolean {
    const v = this.values[i];
    if (typeof v === 'boolean') return v;
    return this.fail(i, 'a boolean (true or false)');
  }

  optBoolean(i: number, dflt: boolean): boolean {
    return this.values[i] === undefined ? dflt : this.boolean(i);
  }

  table(i: number): LuaTable {
    const v = this.values[i];
    if (v instanceof LuaTable) return v;
    return this.fail(i, 'a table');
  }

  optTable(i: number): LuaTable | undefined {
    return this.values[i] === undefined ? undefined : this.table(i);
  }

  function(i: number): LuaFunctionLike {
    const v = this.values[i];
    if (typeOf(v) === 'function') return v as LuaFunctionLike;
    return this.fail(i, 'a function');
  }

  /** A userdata wrapping an instance of `ctor` (e.g. a Server or a NetmaskGroup). */
  object<T>(i: number, ctor: abstract new (...a: never[]) => T, what: string): T {
    const v = this.values[i];
    if (v instanceof ctor) return v;
    return this.fail(i, what);
  }

  /** A string or a table of strings, as many dnsdist functions accept. */
  stringOrStrings(i: number): string[] {
    const v = this.values[i];
    if (typeof v === 'string') return [v];
    if (v instanceof LuaTable) {
      return v.values().map((x) => {
        if (typeof x !== 'string') this.fail(i, 'a string or a table of strings');
        return x;
      });
    }
    return this.fail(i, 'a string or a table of strings');
  }
}

/** Option tables (`newServer{...}`, `addLocal(addr, {...})`): typed reads and unknown-key errors. */
export class LuaOptions {
  readonly fn: string;
  readonly table: LuaTable | undefined;
  readonly #used = new Set<string>();

  constructor(fn: string, table: LuaTable | undefined) {
    this.fn = fn;
    this.table = table;
  }

  #get(key: string): LuaValue {
    this.#used.add(key);
    return this.table?.get(key);
  }

  has(key: string): boolean {
    return this.table?.has(key) ?? false;
  }

  string(key: string): string | undefined {
    const v = this.#get(key);
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    throw new LuaBindingError(`${this.fn}: option '${key}' must be a string, got ${typeOf(v)}`);
  }

  number(key: string): number | undefined {
    const v = this.#get(key);
    if (v === undefined) return undefined;
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
    throw new LuaBindingError(`${this.fn}: option '${key}' must be a number, got ${typeOf(v)}`);
  }

  integer(key: string): number | undefined {
    const n = this.number(key);
    if (n !== undefined && !Number.isInteger(n)) {
      throw new LuaBindingError(`${this.fn}: option '${key}' must be an integer, got ${n}`);
    }
    return n;
  }

  boolean(key: string): boolean | undefined {
    const v = this.#get(key);
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return v;
    throw new LuaBindingError(
      `${this.fn}: option '${key}' must be true or false, got ${typeOf(v)}${typeof v === 'string' ? ` "${v}"` : ''}`,
    );
  }

  stringOrStrings(key: string): string[] | undefined {
    const v = this.#get(key);
    if (v === undefined) return undefined;
    if (typeof v === 'string') return [v];
    if (v instanceof LuaTable) {
      return v.values().map((x) => {
        if (typeof x !== 'string') throw new LuaBindingError(`${this.fn}: option '${key}' must be a string or a table of strings`);
        return x;
      });
    }
    throw new LuaBindingError(`${this.fn}: option '${key}' must be a string or a table of strings, got ${typeOf(v)}`);
  }

  raw(key: string): LuaValue {
    return this.#get(key);
  }

  /**
   * Mark keys that are accepted but have no effect here (documented in
   * docs/compatibility.md), so `rejectUnknown` does not refuse them.
   */
  accept(...keys: string[]): void {
    for (const k of keys) this.#used.add(k);
  }

  /** Refuse keys nobody read: a misspelt option must not be silently ignored. */
  rejectUnknown(): void {
    if (!this.table) return;
    const unknown = [...this.table.entries.keys()].filter((k) => typeof k !== 'string' || !this.#used.has(k));
    if (unknown.length > 0) {
      throw new LuaBindingError(
        `${this.fn}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${String(k)}'`).join(', ')}`,
      );
    }
  }
}
