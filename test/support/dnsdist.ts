/**
 * Debian's dnsdist 1.7.3 as an interop peer. `--check-config` executes the
 * whole configuration (it really creates and pins BPF maps, and print()
 * reaches stdout), which is enough to drive its BPFFilter.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfRequired } from './require-bpf.js';

export function dnsdistVersion(): string | undefined {
  try {
    return /dnsdist (\S+)/.exec(execFileSync('dnsdist', ['--version'], { encoding: 'utf8' }))?.[1];
  } catch {
    return undefined;
  }
}

/** Run `dnsdist --check-config` on a config; returns exit status and output. */
export function dnsdistCheckConfig(config: string): { status: number; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dts-dnsdist-'));
  try {
    const file = join(dir, 'dnsdist.conf');
    writeFileSync(file, config);
    const r = spawnSync('dnsdist', ['--check-config', '-C', file], { encoding: 'utf8', timeout: 20000 });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** describe() for tests that need Debian's dnsdist (installed by bootstrap; required in CI). */
export function describeDnsdist(name: string, fn: () => void): void {
  const v = dnsdistVersion();
  if (v) describe(`${name} (dnsdist ${v})`, fn);
  else if (bpfRequired) {
    describe(name, () =>
      it('needs dnsdist', () => {
        throw new Error('dnsdist is required in CI (bootstrap installs it) but was not found');
      }),
    );
  } else {
    process.stderr.write(`skipping "${name}": dnsdist is not installed\n`);
    describe.skip(name, fn);
  }
}
