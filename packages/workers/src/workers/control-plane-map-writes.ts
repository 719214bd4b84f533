/**
 * The BPF filters' kernel-map writes, which with data-plane workers are the
 * control plane's alone while a worker runs the control plane's Lua text,
 * and how a worker still ends such a text where the control plane did: a
 * write that failed in the control plane (an unblock of what is not
 * blocked, a second addRangeRule) stopped its console command there, or
 * went to the command's pcall, so the worker's skipped write fails at the
 * same call with the same message.
 */
import { LuaBindingError } from '@dnsdist-ts/lua/lua/lua-errors.js';
import type { LuaBinding } from '@dnsdist-ts/lua/lua/lua-runtime.js';

/**
 * What a worker does not do while it runs the control plane's Lua text (the
 * configuration, a console change, maintenance()'s recorded calls): write the
 * BPF filters' kernel maps, which it shares with the control plane
 * (BPFFilter.sharing) and which the control plane has already written running
 * the same text. Again would fail (a second addRangeRule: "already has action
 * Drop"; an unblock: "No such file or directory") or reset what the first
 * write counted. At query time (a LuaAction) a worker's write is the
 * process's one and goes through.
 */
export const CONTROL_PLANE_MAP_WRITES: ReadonlySet<string> = new Set([
  'BPFFilter:block',
  'BPFFilter:unblock',
  'BPFFilter:blockQName',
  'BPFFilter:unblockQName',
  'BPFFilter:addRangeRule',
  'BPFFilter:rmRangeRule',
  'DynBPFFilter:block',
  'DynBPFFilter:purgeExpired',
  'addBPFFilterDynBlocks',
]);

/** The n-th map write of a console command (from 0) failed with this message. */
export type MapWriteFailure = [index: number, message: string];

/**
 * The map writes of one console command at a time, in call order: the
 * control plane notes which failed; a worker, skipping them, fails the same.
 */
export class MapWriteOutcomes {
  #next = 0;
  #failures: MapWriteFailure[] = [];
  #replay = new Map<number, string>();

  /** A command begins: count its writes from 0; a worker is given the control plane's failures to repeat. */
  begin(replay: readonly MapWriteFailure[] = []): void {
    this.#next = 0;
    this.#failures = [];
    this.#replay = new Map(replay);
  }

  /** Control plane: run the write, noting its failure (rethrown) by position. */
  note(fn: LuaBinding, args: Parameters<LuaBinding>[0]): ReturnType<LuaBinding> {
    const index = this.#next++;
    try {
      return fn(args);
    } catch (err) {
      this.#failures.push([index, err instanceof Error ? err.message : String(err)]);
      throw err;
    }
  }

  /** Worker: the write is skipped; it fails as it failed in the control plane, if it did. */
  skip(): undefined {
    const failure = this.#replay.get(this.#next++);
    if (failure !== undefined) throw new LuaBindingError(failure);
    return undefined;
  }

  /** Control plane: the command's failed writes; forgotten here. */
  take(): MapWriteFailure[] {
    const failures = this.#failures;
    this.#failures = [];
    return failures;
  }
}
