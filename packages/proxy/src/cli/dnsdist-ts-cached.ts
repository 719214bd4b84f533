/**
 * The dnsdist-ts command from the CommonJS bundle through V8's code cache
 * (code-cache.ts); bin/dnsdist-ts runs this while the bundles are fresh.
 */
import { fileURLToPath } from 'node:url';
import { runWithCodeCache } from './code-cache.js';

runWithCodeCache(fileURLToPath(new URL('./dnsdist-ts.bundle.cjs', import.meta.url)));
