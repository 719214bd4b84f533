/**
 * A backend preallocates 65,536 in-flight slots. Writing a real send time
 * (a double) and a real cache key (a 32-bit hash, past V8's small-integer
 * range) into one slot must not give it a different hidden class from the
 * slots not used yet: otherwise each of them is migrated on its first use and
 * the forwarding code falls back to the interpreter every time.
 *
 * The hidden class is V8's, so it is read with V8's own test intrinsic
 * (%HaveSameMap) in a child node run with --allow-natives-syntax.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
const SOURCE = join(ROOT, 'packages/dataplane/src/backend/inflight-query.ts');

/** Run `body` (TypeScript, with `InflightQuery` in scope) in a child node that may use V8 intrinsics through eval. */
function runWithIntrinsics(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'inflight-shape-'));
  try {
    const script = join(dir, 'shape.mts');
    writeFileSync(script, `import { InflightQuery } from ${JSON.stringify(SOURCE)};\n${body}\n`);
    return execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 20_000,
    }).trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('InflightQuery hidden class', () => {
  test('a slot given a real send time and cache key keeps the hidden class of unused slots', () => {
    const out = runWithIntrinsics(`
const used = new InflightQuery();
const unused = new InflightQuery();
used.inUse = true;
used.origId = 0x1234;
used.sentAt = performance.now() + 0.25;
used.cacheKey = 0xdeadbeef;
used.release();
used.cacheKey = 0;
console.log(JSON.stringify({ same: eval('%HaveSameMap(used, unused)'), key: used.cacheKey === 0 }));
`);
    expect(JSON.parse(out)).toEqual({ same: true, key: true });
  });

  test('the intrinsic tells a changed hidden class apart (the check can fail)', () => {
    // The shape the slots had before: a field that starts as a small integer and gets a double.
    const out = runWithIntrinsics(`
class SmallIntegerStart { sentAt = 0; }
const used = new SmallIntegerStart();
const unused = new SmallIntegerStart();
used.sentAt = performance.now() + 0.25;
console.log(JSON.stringify({ same: eval('%HaveSameMap(used, unused)'), slot: new InflightQuery().inUse }));
`);
    expect(JSON.parse(out)).toEqual({ same: false, slot: false });
  });

  test('a never-sent slot reads as never sent', () => {
    const out = runWithIntrinsics(`console.log(String(new InflightQuery().sentAt));`);
    expect(out).toBe('-Infinity');
  });
});
