/**
 * Where a data-plane worker thread starts: the module that builds a
 * worker's DnsdistApp (data-plane-worker.ts), which is why it lives with
 * the composition root and not in the workers package. The app and the
 * command line hand this URL to the pool (WorkerPool, prelaunchWorkers).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Defined (true) only inside the bundles scripts/bundle-cli.mjs makes: the
 * CLI bundle then starts the worker bundle made by the same run beside this
 * module's file in dist/.
 */
declare const DNSDIST_TS_BUNDLED: boolean | undefined;
/** Defined (true) only in the CommonJS bundles: their workers start through the code-cache loader. */
declare const DNSDIST_TS_CODE_CACHE: boolean | undefined;

/**
 * The worker entry point: next to this file once built; run from the
 * sources (jest, tsx) the built one in dist/, so `make` must have run.
 */
export function dataPlaneWorkerEntry(): URL {
  if (typeof DNSDIST_TS_CODE_CACHE !== 'undefined' && DNSDIST_TS_CODE_CACHE)
    return new URL('./data-plane-worker-cached.js', import.meta.url);
  if (typeof DNSDIST_TS_BUNDLED !== 'undefined' && DNSDIST_TS_BUNDLED) return new URL('./data-plane-worker.bundle.js', import.meta.url);
  const here = new URL('./data-plane-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL(here.href.replace('/src/worker-entry/', '/dist/worker-entry/'));
}
