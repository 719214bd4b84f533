/** How many data-plane workers: `--workers N` on the command line wins over setWorkers(N) in the configuration. */

/** The most workers accepted: far more threads than cores only adds contention. */
export const MAX_WORKERS = 128;

/** A worker count that is not an integer from 1 to MAX_WORKERS; says what was given and what is accepted. */
export class WorkerCountError extends Error {
  readonly value: unknown;
  constructor(source: string, value: unknown) {
    super(
      `${source}: the number of data-plane workers must be an integer from 1 to ${MAX_WORKERS}, got ${JSON.stringify(value) ?? String(value)}`,
    );
    this.name = 'WorkerCountError';
    this.value = value;
  }
}

/** Check a worker count; `source` names where it came from (`--workers`, `setWorkers`). */
export function checkWorkerCount(source: string, value: unknown): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_WORKERS) throw new WorkerCountError(source, value);
  return n;
}

export class WorkerSettings {
  /** From the command line (--workers). */
  fromCommandLine: number | undefined;
  /** From the configuration (setWorkers). */
  fromConfiguration: number | undefined;

  /** The count in force: 1 (today's single event loop) unless one of them says otherwise. */
  get count(): number {
    return this.fromCommandLine ?? this.fromConfiguration ?? 1;
  }
}
