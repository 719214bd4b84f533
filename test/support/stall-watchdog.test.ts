/**
 * The stall watchdog (stall-watchdog-reporter.js) in a child jest: a file
 * whose worker is blocked in a synchronous spawn is named, with the child
 * process that holds it, the child is killed so the file fails, and the run
 * fails; the other file is unaffected.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childJestArgs, repoRoot } from './child-jest.js';

interface ChildRun {
  code: number;
  output: string;
}

function runFixtures(): Promise<ChildRun> {
  // A fresh cache directory: with no recorded timings, jest gives each file to a worker instead of running in band.
  const cacheDir = mkdtempSync(join(tmpdir(), 'dts-stall-cache-'));
  const args = childJestArgs([
    '--cacheDirectory',
    cacheDir,
    '--maxWorkers',
    '2',
    '--testMatch',
    '<rootDir>/test/support/fixtures/stall.fixture.ts',
    '<rootDir>/test/support/fixtures/quick.fixture.ts',
  ]);
  const env: NodeJS.ProcessEnv = { ...process.env, JEST_STALL_SECONDS: '3', JEST_STALL_CHECK_MS: '500' };
  delete env.REQUIRE_ALL;
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: repoRoot, env, encoding: 'utf8', timeout: 100_000 }, (error, stdout, stderr) => {
      rmSync(cacheDir, { recursive: true, force: true });
      resolve({ code: typeof error?.code === 'number' ? error.code : error ? -1 : 0, output: stdout + stderr });
    });
  });
}

describe('the stall watchdog reporter', () => {
  it('names a file whose worker is blocked, shows the child process holding it, ends it and fails the run', async () => {
    const r = await runFixtures();
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/STALL: test\/support\/fixtures\/stall\.fixture\.ts has run for \d+ s/);
    expect(r.output).toMatch(/child processes:\n\s+pid \d+ state S wchan \S+: sleep 600/);
    // Killing the child ends the blocking spawn: the file fails on its own assertion, not by a killed worker.
    expect(r.output).toMatch(/FAIL test\/support\/fixtures\/stall\.fixture\.ts/);
    expect(r.output).toMatch(/Expected: null\s+Received: "SIGKILL"/);
    expect(r.output).not.toMatch(/killing worker/);
    expect(r.output).toMatch(/PASS test\/support\/fixtures\/quick\.fixture\.ts/);
    // Repeated at the end, where a truncated log still shows it.
    expect(r.output).toMatch(/stalled test files \(diagnosis repeated from above\):\nSTALL: test\/support\/fixtures\/stall\.fixture\.ts/);
    expect(r.output).toMatch(/a test file never ended: test\/support\/fixtures\/stall\.fixture\.ts/);
  }, 110_000);
});
