/**
 * Running a CommonJS bundle through V8's code cache (docs/benchmarks.md,
 * "Start-up: V8's code cache"). Node 20 compiles an ES module from source
 * every time and has no compile cache for them: parsing and compiling the
 * 2 MB bundle is most of the start-up, and each data-plane worker pays it
 * again. A `vm.Script` accepts the bytecode V8 serialised on an earlier
 * run (`cachedData`), so scripts/bundle-cli.mjs also emits the bundles as
 * CommonJS and the `*-cached.js` entries run them through here.
 *
 * The cache lives next to the bundle (`<bundle>.v8cache`). It is written
 * once the program has run for a while (or at exit, whichever is first),
 * so it holds the functions start-up compiled, not only the top level.
 * Anything wrong with it (missing, unreadable, made for another bundle or
 * Node, truncated, corrupt: V8 rejects what fails its own checks) only
 * means a normal compile and a fresh cache; a directory we cannot write
 * just means no cache. Nothing here ever stops the program from starting.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script, constants } from 'node:vm';
import { threadId } from 'node:worker_threads';

/** What happened to the cache on this run. */
export type CodeCacheState = 'accepted' | 'rejected' | 'absent';

/** What runWithCodeCache() did. */
export interface CodeCacheRun {
  state: CodeCacheState;
  /** The bundle's `module.exports`. */
  exports: unknown;
  /** Write the cache now (once; a no-op when V8 accepted the one it found). */
  saveCache(): void;
}

/** The first line of a cache file names the format, the bundle text and Node, and the data. */
const MAGIC = 'dnsdist-ts-v8cache 1';

/** How long the program runs before the cache is written (its start-up compiled by then). */
export const CODE_CACHE_WRITE_DELAY_MS = 3000;

function sha256(...parts: Array<string | Buffer>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/**
 * The header tying cached data to one bundle text and one Node. V8 checks
 * its version, flags and the source's length, not the text (a rebuilt
 * bundle of the same length would be given the old bytecode), and checks
 * no checksum of the data in release builds (a damaged file could reach
 * its deserialiser): both are hashed here.
 */
export function codeCacheHeader(source: string, data: Buffer): Buffer {
  return Buffer.from(`${MAGIC} ${sha256(process.version, process.arch, source)} ${sha256(data)}\n`);
}

/** The cached data in `cachePath` if it was made for `source` and is intact, else undefined. */
function readCache(cachePath: string, source: string): Buffer | undefined {
  const file = readFileSync(cachePath);
  const eol = file.indexOf(10);
  if (eol < 0) return undefined;
  const data = file.subarray(eol + 1);
  return file.subarray(0, eol + 1).equals(codeCacheHeader(source, data)) ? data : undefined;
}

/** Replace the cache atomically (a worker reading it never sees half a file). */
function writeCache(cachePath: string, source: string, data: Buffer): void {
  const tmp = `${cachePath}.${process.pid}.${threadId}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([codeCacheHeader(source, data), data]));
    renameSync(tmp, cachePath);
  } catch {
    // A read-only install (or privileges dropped since): run without a cache.
    rmSync(tmp, { force: true });
  }
}

/**
 * Compile the CommonJS file `bundlePath` with the cache beside it, run it,
 * and schedule writing a fresh cache unless V8 took the one it found:
 * after `writeDelayMs`, or at exit if that comes first.
 */
export function runWithCodeCache(
  bundlePath: string,
  cachePath = `${bundlePath}.v8cache`,
  writeDelayMs = CODE_CACHE_WRITE_DELAY_MS,
): CodeCacheRun {
  const source = readFileSync(bundlePath, 'utf8');
  let state: CodeCacheState = 'absent';
  let cachedData: Buffer | undefined;
  try {
    cachedData = readCache(cachePath, source);
    state = cachedData === undefined ? 'rejected' : 'accepted';
  } catch {
    // No cache yet (or unreadable): compile normally.
  }
  // "use strict" inside the wrapper: the bundle was ES modules, which are strict. A "#!" line
  // (esbuild keeps main.ts's) is made a comment, on the same line so that line numbers hold.
  const body = source.startsWith('#!') ? `//${source}` : source;
  const wrapped = `(function (exports, require, module, __filename, __dirname) {"use strict";${body}\n})`;
  const script = new Script(wrapped, {
    filename: bundlePath,
    cachedData,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (script.cachedDataRejected === true) state = 'rejected';
  let saved = state === 'accepted';
  const saveCache = (): void => {
    if (saved) return;
    saved = true;
    clearTimeout(timer);
    process.off('exit', saveCache);
    writeCache(cachePath, source, script.createCachedData());
  };
  const timer = saved ? undefined : setTimeout(saveCache, writeDelayMs).unref();
  if (!saved) process.once('exit', saveCache);
  const module = { exports: {} as unknown };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(bundlePath), module, bundlePath, dirname(bundlePath));
  return { state, exports: module.exports, saveCache };
}
