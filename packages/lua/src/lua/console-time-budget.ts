/**
 * Keeps a console command from stopping DNS. Queries and the console share
 * one event loop, so Lua that runs without pause stops every query (and
 * SIGTERM, whose handler runs on the same loop). A count hook on the
 * command's coroutine checks the clock every few hundred VM instructions:
 *
 * - past the slice, the coroutine yields and the command carries on after
 *   the event loop has had a turn (queries, timers, signals);
 * - where it cannot yield (inside a function called from JS, such as a
 *   `table.sort` comparator, or inside a coroutine the command made
 *   itself) for longer than `maxUnpausableMs`, the command is aborted;
 * - past `timeoutMs` in all, the command is aborted.
 *
 * An aborted command keeps failing at every instruction until it ends, so
 * a `pcall` in the command cannot swallow the abort and carry on.
 *
 * Only the command's own coroutine (and coroutines it creates, which
 * inherit the hook) is hooked: configuration Lua, rule and maintenance
 * Lua run on the main thread and never see it.
 */
import { lua, to_luastring, type LuaState } from 'fengari';

/** Limits on one console command's Lua. */
export interface ConsoleCommandLimits {
  /** Lua runs this long before it lets the event loop have a turn. */
  sliceMs: number;
  /** Longest stretch it may run where it cannot yield; then it is aborted. Keep it well under a second. */
  maxUnpausableMs: number;
  /** Wall-clock limit for the whole command (setConsoleCommandTimeout); 0: none. */
  timeoutMs: number;
  /**
   * Growth of the process's JS heap and buffers over the command's start
   * at which it is aborted (checked once a slice); 0: none. A loop that
   * keeps allocating would otherwise take the whole machine's memory within
   * its time limit.
   */
  memoryGrowthBytes: number;
}

/** Slice 10 ms, 250 ms without a pause at most, 10 s in all, 128 MiB more memory at most. */
export const DEFAULT_CONSOLE_COMMAND_LIMITS: Readonly<ConsoleCommandLimits> = {
  sliceMs: 10,
  maxUnpausableMs: 250,
  timeoutMs: 10_000,
  memoryGrowthBytes: 128 * 1024 * 1024,
};

/** What the command's Lua can grow: the JS heap and the buffers (fengari's strings are byte arrays). */
function allocatedBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * VM instructions between two clock checks. fengari runs roughly 50–100
 * million a second here, so a check every ~10 µs: well inside the slice,
 * and performance.now() every 500 instructions costs under 1%.
 */
const CHECK_EVERY = 500;

/** One command's clock, installed as the count hook of its coroutine. */
export class ConsoleTimeBudget {
  readonly #thread: LuaState;
  readonly #limits: ConsoleCommandLimits;
  readonly #startedAt = performance.now();
  readonly #allocatedAtStart = allocatedBytes();
  #sliceStartedAt = 0;
  #yielded = false;
  /** Set once the command is aborted: raised again at every instruction. */
  #abort: string | undefined;

  constructor(thread: LuaState, limits: ConsoleCommandLimits) {
    this.#thread = thread;
    this.#limits = limits;
    lua.lua_sethook(thread, this.#hook, lua.LUA_MASKCOUNT, CHECK_EVERY);
  }

  /** Call before each resume. */
  beginSlice(): void {
    this.#sliceStartedAt = performance.now();
    this.#yielded = false;
  }

  /** Has the current slice used up its time? */
  get sliceSpent(): boolean {
    return performance.now() - this.#sliceStartedAt >= this.#limits.sliceMs;
  }

  /** Did the last resume return because the hook yielded (rather than the command calling coroutine.yield itself)? */
  get yieldedForEventLoop(): boolean {
    return this.#yielded;
  }

  readonly #hook = (L: LuaState): void => {
    if (this.#abort !== undefined) this.#raise(L);
    const now = performance.now();
    const { sliceMs, maxUnpausableMs, timeoutMs } = this.#limits;
    if (timeoutMs > 0 && now - this.#startedAt > timeoutMs) {
      this.#fail(
        L,
        `console command aborted after ${Math.round(now - this.#startedAt)} ms, over the limit of ${timeoutMs} ms (setConsoleCommandTimeout(seconds) changes it, 0 removes it)`,
      );
    }
    if (now - this.#sliceStartedAt < sliceMs) return;
    const { memoryGrowthBytes } = this.#limits;
    if (memoryGrowthBytes > 0) {
      const grown = allocatedBytes() - this.#allocatedAtStart;
      if (grown > memoryGrowthBytes) {
        this.#fail(
          L,
          `console command aborted: it made the process grow by ${Math.round(grown / 1048576)} MiB, over the limit of ${Math.round(memoryGrowthBytes / 1048576)} MiB`,
        );
      }
    }
    // Yield only the command's own coroutine: yielding one the command created would look to it like its own yield.
    if (L === this.#thread && lua.lua_isyieldable(L)) {
      this.#yielded = true;
      lua.lua_yield(L, 0);
      return;
    }
    if (now - this.#sliceStartedAt > maxUnpausableMs) {
      this.#fail(
        L,
        `console command aborted: it ran ${Math.round(now - this.#sliceStartedAt)} ms without a pause (inside a function called from JS, such as a table.sort comparator, or inside a coroutine of its own), which would have stopped DNS; over ${maxUnpausableMs} ms it is stopped`,
      );
    }
  };

  #fail(L: LuaState, message: string): never {
    this.#abort = message;
    // From now on every instruction fails, on this coroutine and on the command's own.
    lua.lua_sethook(L, this.#hook, lua.LUA_MASKCOUNT, 1);
    if (L !== this.#thread) lua.lua_sethook(this.#thread, this.#hook, lua.LUA_MASKCOUNT, 1);
    this.#raise(L);
  }

  #raise(L: LuaState): never {
    lua.lua_pushstring(L, to_luastring(this.#abort!));
    return lua.lua_error(L);
  }
}
