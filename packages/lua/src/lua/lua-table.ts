/** A Lua value as the bindings receive it. */
export type LuaValue = undefined | boolean | number | string | LuaTable | LuaFunctionLike | object;

/** Something callable that came from Lua (see LuaFunctionRef). */
export interface LuaFunctionLike {
  call(...args: unknown[]): unknown[];
}

/**
 * A Lua table copied into JS when it crosses into a binding. Keys keep their
 * Lua type (numbers stay numbers), so `{ "a", "b" }` and `{ [1] = "a" }`
 * read the same way.
 */
export class LuaTable {
  readonly entries = new Map<string | number | boolean | object, LuaValue>();

  get(key: string | number): LuaValue {
    return this.entries.get(key);
  }

  has(key: string | number): boolean {
    return this.entries.has(key);
  }

  /** Values at 1..n (stops at the first hole), as Lua's `ipairs` sees them. */
  array(): LuaValue[] {
    const out: LuaValue[] = [];
    for (let i = 1; this.entries.has(i); i++) out.push(this.entries.get(i));
    return out;
  }

  /**
   * The values in Lua's order when the table is a sequence ({"a", "b"}),
   * otherwise in traversal order: Lua's own traversal order of a sequence
   * is not guaranteed to be 1..n.
   */
  values(): LuaValue[] {
    const seq = this.array();
    return seq.length === this.entries.size ? seq : [...this.entries.values()];
  }

  /** String keys only, for option tables such as `newServer{...}`. */
  stringKeys(): string[] {
    return [...this.entries.keys()].filter((k): k is string => typeof k === 'string');
  }

  get size(): number {
    return this.entries.size;
  }
}
