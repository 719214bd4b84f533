/**
 * @dnsdist-ts/lua: the Lua configuration layer: the runtime (fengari), the
 * bindings that register dnsdist's Lua functions over the objects the
 * composition root gives them (bind-*.ts), LuaJIT's FFI, the Lua values.
 * Deep imports name a folder: `@dnsdist-ts/lua/lua/<file>.js` (package.json "exports").
 */
export { ConsoleCommandCancelledError, LuaRuntime, type ConsoleCommandOptions, type ConsoleResultFormatter } from './lua/lua-runtime.js';
export { DEFAULT_CONSOLE_COMMAND_LIMITS, type ConsoleCommandLimits } from './lua/console-time-budget.js';
export { LuaEnvironment } from './lua/lua-environment.js';
export { LuaBindingError, LuaScriptError } from './lua/lua-errors.js';
