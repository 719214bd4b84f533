import type { TeeAction, TeeStats } from './tee-action.js';

/** The counters of `parts` added up, counter by counter. */
export function sumTeeStats(parts: readonly TeeStats[]): TeeStats {
  const total: TeeStats = {
    queries: 0,
    responses: 0,
    'recv-errors': 0,
    'send-errors': 0,
    noerrors: 0,
    nxdomains: 0,
    refuseds: 0,
    servfails: 0,
    'other-rcode': 0,
    'tcp-drops': 0,
  };
  for (const p of parts) for (const k of Object.keys(total) as (keyof TeeStats)[]) total[k] += p[k];
  return total;
}

/**
 * The TeeActions one Lua state has created, in creation order. With
 * data-plane workers every thread runs the same configuration and the same
 * console changes (worker-config-log.ts), so the tee at position i in the
 * control plane is the one at position i in each worker: the control plane
 * reads a tee's counters as its own plus the workers' at that position
 * (worker-state-pull.ts brings them), since only the workers see queries.
 */
export class TeeActions {
  readonly #list: TeeAction[] = [];
  readonly #positions = new WeakMap<TeeAction, number>();
  /** The control plane with workers: the workers' counters of the tee at `position`, each worker's. */
  workers: ((position: number) => readonly TeeStats[]) | undefined;

  /** Note a tee the configuration or the console created (the next position). */
  add(tee: TeeAction): void {
    this.#positions.set(tee, this.#list.length);
    this.#list.push(tee);
  }

  /** Every tee's own counters, by position (what a worker reports). */
  snapshot(): TeeStats[] {
    return this.#list.map((t) => t.getStats());
  }

  /** `tee`'s counters for the whole process: its own, plus the workers' copies' when there are workers. */
  statsOf(tee: TeeAction): TeeStats {
    const position = this.#positions.get(tee);
    if (position === undefined || !this.workers) return tee.getStats();
    return sumTeeStats([tee.getStats(), ...this.workers(position)]);
  }

  /** Stop every tee (the proxy stops). */
  closeAll(): void {
    for (const t of this.#list) t.close();
  }
}
