/**
 * Where a data-plane worker thread starts: worker-entry/data-plane-worker.ts,
 * which builds a worker's DnsdistApp and so belongs with the composition
 * root, not in the workers package. The app and the command line hand this
 * URL to the pool (WorkerPool, prelaunchWorkers); the entry is only started,
 * never imported, so app/ does not depend on worker-entry/.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Defined (true) only inside the bundles scripts/bundle-cli.mjs makes: the
 * CLI bundle then starts the worker bundle made by the same run in
 * dist/worker-entry/.
 */
declare const DNSDIST_TS_BUNDLED: boolean | undefined;
/** Defined (true) only in the CommonJS bundles: their workers start through the code-cache loader. */
declare const DNSDIST_TS_CODE_CACHE: boolean | undefined;

/**
 * The worker entry point, in ../worker-entry/ once built; run from the
 * sources (jest, tsx) the built one in dist/, so `make` must have run.
 */
export function dataPlaneWorkerEntry(): URL {
  if (typeof DNSDIST_TS_CODE_CACHE !== 'undefined' && DNSDIST_TS_CODE_CACHE)
    return new URL('../worker-entry/data-plane-worker-cached.js', import.meta.url);
  if (typeof DNSDIST_TS_BUNDLED !== 'undefined' && DNSDIST_TS_BUNDLED)
    return new URL('../worker-entry/data-plane-worker.bundle.js', import.meta.url);
  const here = new URL('../worker-entry/data-plane-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL(here.href.replace('/src/worker-entry/', '/dist/worker-entry/'));
}
