import { IndexGuard, type IndexGuardOptions } from './index-guard.js';

export interface MaintainerLog {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * Keeps one index guard running per pin directory that holds the XDP
 * filter's maps: what a dnsdist-ts process (the proxy, `xdp-filter
 * maintain`) calls once a second. A guard whose pins were replaced (the
 * filter re-attached, dnsdist recreating its maps) is restarted on the new
 * maps; a directory without the maps yet is retried on the next call.
 * Failures are logged once per distinct reason, never thrown: the program
 * then simply looks every name up.
 */
export class NameIndexMaintainer {
  readonly #guards = new Map<string, IndexGuard>();
  readonly #lastProblem = new Map<string, string>();
  readonly #log: MaintainerLog;
  readonly #options: IndexGuardOptions;

  constructor(log: MaintainerLog, options: IndexGuardOptions = {}) {
    this.#log = log;
    this.#options = options;
  }

  /** Guard exactly `dirs` (started, restarted or stopped as needed). */
  keep(dirs: Iterable<string>): void {
    const wanted = new Set(dirs);
    for (const [dir, guard] of this.#guards) {
      if (wanted.has(dir) && guard.matchesPins()) continue;
      guard.stop();
      this.#guards.delete(dir);
      if (wanted.has(dir)) this.#log.info(`The XDP filter's maps in ${dir} were replaced: restarting the name index guard`);
    }
    for (const dir of wanted) {
      if (this.#guards.has(dir)) continue;
      try {
        const guard = IndexGuard.start(dir, this.#options);
        this.#guards.set(dir, guard);
        this.#lastProblem.delete(dir);
        this.#log.info(
          `Maintaining the XDP filter's name index in ${dir}: a scan every ${guard.options.periodMs} ms, each vouching for ${guard.options.freshMs} ms`,
        );
      } catch (err) {
        const problem = (err as Error).message;
        if (this.#lastProblem.get(dir) !== problem) {
          this.#lastProblem.set(dir, problem);
          this.#log.warn(`Not maintaining the XDP filter's name index in ${dir} (names are looked up without it): ${problem}`);
        }
      }
    }
    for (const dir of this.#lastProblem.keys()) if (!wanted.has(dir)) this.#lastProblem.delete(dir);
  }

  /** Directories with a running guard. */
  get dirs(): string[] {
    return [...this.#guards.keys()];
  }

  guard(dir: string): IndexGuard | undefined {
    return this.#guards.get(dir);
  }

  /** Stop every guard. */
  close(): void {
    for (const g of this.#guards.values()) g.stop();
    this.#guards.clear();
    this.#lastProblem.clear();
  }
}
