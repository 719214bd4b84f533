/**
 * Lua globals with several data-plane workers. dnsdist has one Lua state,
 * so a global set by maintenance() or at the console is what a LuaAction,
 * LuaRule or Lua policy reads on the next query. Here each worker runs the
 * configuration in its own state; the control plane's is the one
 * maintenance() and the console change. After each maintenance tick and
 * each console command, the control plane looks for globals whose value
 * changed (lua/lua-globals-copy.ts: data only: nil, booleans, numbers,
 * strings and tables of them) and sends the changes to every worker, which
 * sets them between two queries, after any console command it is still
 * running. A worker started later (a restart) gets every change since the
 * configuration, after replaying the console's commands.
 *
 * What cannot be copied (functions, userdata, tables holding them, with a
 * metatable or cyclic) is not sent: a console command that assigns one is
 * run in every worker instead, like a configuration change
 * (worker-config-log.ts); set anywhere else (maintenance()), it is logged
 * once per global and the workers keep their own value. Globals set in a
 * worker (by a LuaAction, say) stay in that worker.
 */
import { LuaGlobalsWatch, setLuaGlobal, type LuaGlobalChange, type LuaGlobalsDiff } from '@dnsdist-ts/lua/lua/lua-globals-copy.js';
import type { LuaRuntime } from '@dnsdist-ts/lua/lua/lua-runtime.js';

/** How long a console command waits for the workers to have its globals before it replies without them. */
const ACK_TIMEOUT_MS = 5000;

interface Waiting {
  pending: Set<number>;
  resolve: () => void;
}

/** Control-plane side: what changed, what was sent, and the workers' acknowledgements. */
export class WorkerLuaGlobals {
  readonly #watch: LuaGlobalsWatch;
  /** Every global changed since the configuration ran, at its latest value: what a restarted worker is given. */
  readonly #sinceConfiguration = new Map<string, string | null>();
  readonly #warned = new Set<string>();
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;

  /** Watch `runtime`'s globals from now on: create it once the configuration has run. */
  constructor(runtime: LuaRuntime) {
    this.#watch = new LuaGlobalsWatch(runtime.L);
  }

  /** The globals changed since the previous call; noted for workers started later. */
  diff(): LuaGlobalsDiff {
    const diff = this.#watch.diff();
    for (const [name, encoded] of diff.changed) this.#sinceConfiguration.set(name, encoded);
    return diff;
  }

  /**
   * Outside the console, a global that changed to what cannot be copied:
   * the text to log, once per global, or undefined.
   */
  warnings(diff: LuaGlobalsDiff): string[] {
    const lines: string[] = [];
    for (const { name, why } of diff.uncopiable) {
      if (this.#warned.has(name)) continue;
      this.#warned.add(name);
      lines.push(
        `Lua global ${JSON.stringify(name)} was set outside the console to a value that ${why}: the data-plane workers keep their own value of it (only nil, booleans, numbers, strings and tables of them are copied to them)`,
      );
    }
    return lines;
  }

  /** Every change since the configuration ran, for a worker starting now. */
  current(): LuaGlobalChange[] {
    return [...this.#sinceConfiguration];
  }

  /**
   * The message that carries `changes` to workers `targets`, and a promise
   * that resolves once each has set them, gone, or ACK_TIMEOUT_MS passed.
   */
  send(changes: LuaGlobalChange[], targets: readonly number[]): { id: number; done: Promise<void> } {
    const id = this.#nextId++;
    if (targets.length === 0) return { id, done: Promise.resolve() };
    const done = new Promise<void>((resolve) => {
      this.#waiting.set(id, { pending: new Set(targets), resolve });
      setTimeout(() => this.#settle(id, undefined), ACK_TIMEOUT_MS).unref();
    });
    return { id, done };
  }

  /** Worker `worker` has set the globals of message `id`. */
  applied(worker: number, id: number): void {
    this.#settle(id, worker);
  }

  /** Worker `worker` exited: nothing more is waited for from it. */
  gone(worker: number): void {
    for (const id of [...this.#waiting.keys()]) this.#settle(id, worker);
  }

  /** `worker` undefined: stop waiting for message `id`. */
  #settle(id: number, worker: number | undefined): void {
    const waiting = this.#waiting.get(id);
    if (!waiting) return;
    if (worker !== undefined) waiting.pending.delete(worker);
    if (worker !== undefined && waiting.pending.size > 0) return;
    this.#waiting.delete(id);
    waiting.resolve();
  }
}

/** Worker side: set the control plane's changes in this worker's Lua state; returns an error text per change that could not be set. */
export function applyLuaGlobals(runtime: LuaRuntime, changes: readonly LuaGlobalChange[]): string[] {
  const errors: string[] = [];
  for (const [name, encoded] of changes) {
    try {
      setLuaGlobal(runtime.L, name, encoded);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  return errors;
}
