/** A Lua configuration or console command failed; `message` carries Lua's "file:line: reason". */
export class LuaScriptError extends Error {
  /** The chunk that failed: a file path, or "console" for console lines. */
  readonly chunk: string;
  constructor(message: string, chunk: string) {
    super(message);
    this.name = 'LuaScriptError';
    this.chunk = chunk;
  }
}

/**
 * Thrown by a binding for a bad argument or a refused operation; the runtime
 * turns it into a Lua error positioned at the calling line, so a config
 * error reads "dnsdist.conf:12: newServer: ...".
 */
export class LuaBindingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LuaBindingError';
  }
}
