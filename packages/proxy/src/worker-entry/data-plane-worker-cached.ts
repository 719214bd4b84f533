/**
 * A data-plane worker from the CommonJS worker bundle through V8's code
 * cache (cli/code-cache.ts): what the CommonJS CLI bundle starts, so that
 * the second and later workers (and later runs) skip compiling the bundle.
 */
import { fileURLToPath } from 'node:url';
import { runWithCodeCache } from '../cli/code-cache.js';

runWithCodeCache(fileURLToPath(new URL('./data-plane-worker.bundle.cjs', import.meta.url)));
