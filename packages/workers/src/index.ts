/**
 * @dnsdist-ts/workers: the data-plane workers: the pool the control plane
 * runs, what it and each worker share (counters, caches, rate limits,
 * backend states, rings, dynamic blocks) and tell each other. The worker
 * thread's entry point is the composition root's (proxy), which hands the
 * pool its URL.
 * Deep imports name a folder: `@dnsdist-ts/workers/<folder>/<file>.js` (package.json "exports").
 */
export { WorkerPool, WorkerStartError, prelaunchWorkers } from './workers/worker-pool.js';
export type { ControlToWorker, ForwardedOptions, WorkerShares, WorkerStart, WorkerToControl } from './workers/worker-messages.js';
