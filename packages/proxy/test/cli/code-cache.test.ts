/**
 * V8's code cache for the CommonJS bundles (src/cli/code-cache.ts), with real V8 in fresh
 * processes (one process's own compilation cache would hide whether the file was used): a cache
 * written on one run is taken on the next, and anything wrong with it only means a normal
 * compile, a program that still runs, and a good cache again.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { codeCacheHeader } from '../../src/cli/code-cache.js';

const LOADER = join(dirname(fileURLToPath(import.meta.url)), '../../dist/cli/code-cache.js');

/** Run `bundle` through the built loader in a new node; what it printed and the cache state. */
function run(bundle: string): { state: string; out: string } {
  const code = [
    `import { runWithCodeCache } from ${JSON.stringify(pathToFileURL(LOADER).href)};`,
    `const r = runWithCodeCache(${JSON.stringify(bundle)});`,
    `r.saveCache();`,
    `console.log(JSON.stringify({ state: r.state, out: r.exports.out }));`,
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { state: string; out: string };
}

/** A CommonJS "bundle" with enough functions for V8 to have something to cache. */
function bundleText(tag: string): string {
  const fns = Array.from({ length: 50 }, (_, i) => `function f${i}(x) { return x * ${i} + ${JSON.stringify(tag)}.length; }`);
  return `#!/usr/bin/env node\n${fns.join('\n')}\nlet s = 0;\nfor (const f of [${fns.map((_, i) => `f${i}`).join(', ')}]) s += f(2);\nmodule.exports.out = ${JSON.stringify(tag)} + ':' + s + ':' + require('node:path').basename(__filename);\n`;
}

describe('running a CommonJS bundle through the code cache', () => {
  let dir: string;
  let bundle: string;
  let cache: string;

  beforeAll(() => {
    if (!statSync(LOADER, { throwIfNoEntry: false })) throw new Error(`${LOADER} is missing: run 'make build' first`);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dts-code-cache-'));
    bundle = join(dir, 'app.bundle.cjs');
    cache = `${bundle}.v8cache`;
    writeFileSync(bundle, bundleText(`t${process.hrtime.bigint()}`));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles normally and writes a cache on the first run, and V8 takes that cache on the next without rewriting it', () => {
    const first = run(bundle);
    expect(first.state).toBe('absent');
    expect(first.out).toMatch(/^t\d+:\d+:app\.bundle\.cjs$/);
    const written = readFileSync(cache);
    const data = written.subarray(written.indexOf(10) + 1);
    expect(written.subarray(0, written.indexOf(10) + 1)).toEqual(codeCacheHeader(readFileSync(bundle, 'utf8'), data));

    const second = run(bundle);
    expect(second).toEqual({ state: 'accepted', out: first.out });
    expect(readFileSync(cache)).toEqual(written);
  });

  it('runs from a normal compile when the cache is damaged (a byte changed, or cut short), and replaces it with a good one', () => {
    const first = run(bundle);
    const good = readFileSync(cache);
    for (const damaged of [
      Buffer.concat([good.subarray(0, good.length - 100), Buffer.from([good[good.length - 100]! ^ 0xff]), good.subarray(good.length - 99)]),
      good.subarray(0, good.length >> 1),
      good.subarray(0, 10),
      Buffer.from('not a cache at all'),
    ]) {
      writeFileSync(cache, damaged);
      expect(run(bundle)).toEqual({ state: 'rejected', out: first.out });
      expect(run(bundle)).toEqual({ state: 'accepted', out: first.out });
    }
  });

  it('does not give a rebuilt bundle of the same length the old bundle’s cache', () => {
    const first = run(bundle);
    const text = readFileSync(bundle, 'utf8');
    const rebuilt = text.replace('x * 7 +', 'x * 8 +');
    expect(rebuilt.length).toBe(text.length);
    writeFileSync(bundle, rebuilt);
    const again = run(bundle);
    expect(again.state).toBe('rejected');
    expect(again.out).not.toBe(first.out);
  });

  it('falls back when V8 itself refuses the data (made for another script under a matching header)', () => {
    const other = join(dir, 'other.bundle.cjs');
    writeFileSync(other, bundleText('another script, longer than the first one'));
    run(other);
    const foreign = readFileSync(`${other}.v8cache`);
    const data = foreign.subarray(foreign.indexOf(10) + 1);
    writeFileSync(cache, Buffer.concat([codeCacheHeader(readFileSync(bundle, 'utf8'), data), data]));
    const r = run(bundle);
    expect(r.state).toBe('rejected');
    expect(r.out).toMatch(/^t\d+:/);
    expect(run(bundle).state).toBe('accepted');
  });
});
