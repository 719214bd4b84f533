/**
 * What a scripted rule function (a Lua function given to LuaAction or
 * LuaResponseAction) handed back: dnsdist's `action code, optional string`.
 * One is reused per action, so calling a script allocates nothing here.
 */
export class ScriptResult {
  code = 0;
  /** The optional second value (a pool name, spoofed addresses, a delay); undefined when absent. */
  text: string | undefined = undefined;
  /**
   * The second value as the bytes of the Lua string, for the codes that read
   * bytes rather than text (SpoofRaw); undefined otherwise. Valid until the
   * next call: copy what is kept.
   */
  bytes: Uint8Array | undefined = undefined;

  reset(): this {
    this.code = 0;
    this.text = undefined;
    this.bytes = undefined;
    return this;
  }

  /** The text as a Delay's milliseconds (parsed as dnsdist does, leading integer); undefined when it is not a non-negative number. */
  delayMs(): number | undefined {
    const ms = Number.parseInt(this.text ?? '', 10);
    return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
  }
}

/**
 * A script failure (a Lua error, a wrong return value): dnsdist logs it and
 * goes on with a fallback result instead of failing the query path.
 */
export class ScriptCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptCallError';
  }
}

/** Where scripted rules report failures (dnsdist's warnlog). */
export type ScriptFailureLog = (line: string) => void;
