/**
 * What the Lua layer sees of the data-plane workers (bind-workers.ts):
 * declared here so that the workers package implements it and the Lua
 * layer never imports the pool.
 */
import type { WorkerSettings } from './worker-settings.js';

/** One worker as showWorkers() lists it. */
export interface WorkerStatus {
  index: number;
  threadId: number;
  state: 'starting' | 'running' | 'restarting';
  restarts: number;
  queries: number;
}

/** What the bindings act on: the settings, and the running workers once started (none with one worker). */
export interface WorkerControl {
  settings: WorkerSettings;
  status(): WorkerStatus[] | undefined;
  restart(index: number): Promise<void>;
}
