/** Returned by a binding that gives Lua several values (`return a, b`). */
export class LuaMultipleValues {
  readonly values: unknown[];
  constructor(...values: unknown[]) {
    this.values = values;
  }
}
