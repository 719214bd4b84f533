/** Run the built dnsdist-ts CLI (packages/proxy/dist, built by `make`) as a child process. */
import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { withTestWorkers } from '../support/test-workers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
/** The module tree's entry (tsc's output). */
export const MAIN = join(ROOT, 'packages/proxy/dist/cli/main.js');
/** The single-file bundle of the CLI (scripts/bundle-cli.mjs), what the package's bin runs. */
export const BUNDLE = join(ROOT, 'packages/proxy/dist/cli/dnsdist-ts.bundle.js');

/** The bundle exists and no package's tsc build is newer (bin/dnsdist-ts's rule). */
export function bundleIsFresh(): boolean {
  if (!existsSync(BUNDLE)) return false;
  const bundled = statSync(BUNDLE).mtimeMs;
  for (const dir of ['packages', 'contrib']) {
    for (const pkg of readdirSync(join(ROOT, dir))) {
      const info = join(ROOT, dir, pkg, 'tsconfig.build.tsbuildinfo');
      if (existsSync(info) && statSync(info).mtimeMs > bundled) return false;
    }
  }
  return true;
}

/** What the tests run: the bundle when fresh, as bin/dnsdist-ts does, else the module tree. */
export const CLI = bundleIsFresh() ? BUNDLE : MAIN;
/** The repository's launcher script (what README and `make run` use). */
export const BIN = join(ROOT, 'bin/dnsdist-ts');

export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'make' (or 'pnpm run build') first`);
}

export function runCli(args: string[], timeoutMs = 20000): { status: number; stdout: string; stderr: string } {
  requireBuiltCli();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Start the CLI in the background; resolves once `ready` appears in its
 * output. `launcher` 'bin' starts it through bin/dnsdist-ts instead of node.
 * DNSDIST_TS_TEST_WORKERS=N adds `--workers N` when `args` start a server
 * without a count (test-workers.ts).
 */
export function startCli(
  args: string[],
  ready: RegExp,
  timeoutMs = 10000,
  launcher: 'node' | 'bin' = 'node',
): Promise<{ child: ChildProcess; output: () => string }> {
  requireBuiltCli();
  args = withTestWorkers(args);
  const child =
    launcher === 'bin'
      ? spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dnsdist-ts did not print ${ready} within ${timeoutMs} ms; output:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ child, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dnsdist-ts exited with ${code} before getting ready; output:\n${out}`));
    });
  });
}

/** Resolve when the child exits; its exit code (or signal name). */
export function exited(child: ChildProcess): Promise<number | string> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
}
