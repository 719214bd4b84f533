/**
 * Debian's dnsdist 1.7.3 as an interop peer. `--check-config` executes the
 * whole configuration (it really creates and pins BPF maps, and print()
 * reaches stdout), which is enough to drive its BPFFilter.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeRequires } from './require.js';
import { dnsdist } from './requirements.js';

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

/** describe() for tests that need Debian's dnsdist (installed by bootstrap; mandatory under REQUIRE_ALL=1). */
export function describeDnsdist(name: string, fn: () => void): void {
  const v = dnsdist.unavailable() ? undefined : dnsdistVersion();
  describeRequires(v ? `${name} (dnsdist ${v})` : name, dnsdist, fn);
}

/** A supervised Debian dnsdist running on a temporary configuration file. */
export interface SpawnedDnsdist {
  /** The configuration file (for `dnsdist -C <file> -c/-e`). */
  readonly file: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Has it exited? */
  exited(): boolean;
  /** Resolves when it exits. */
  readonly exit: Promise<void>;
  /** Subscribe to its output as it comes. */
  onOutput(listener: () => void): void;
  /** SIGTERM (SIGKILL after 5 s), then remove the temporary directory. */
  stop(): Promise<void>;
}

/** Start `dnsdist --supervised --disable-syslog` on `config`, written to a fresh temporary directory. */
export function spawnDnsdist(config: string, dirPrefix = 'dts-dnsdist-'): SpawnedDnsdist {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  const file = join(dir, 'dnsdist.conf');
  writeFileSync(file, config);
  const child: ChildProcess = spawn('dnsdist', ['--supervised', '--disable-syslog', '-C', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited = false;
  const listeners: Array<() => void> = [];
  const collect = (d: Buffer): void => {
    output += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  return {
    file,
    output: () => output,
    exited: () => exited,
    exit,
    onOutput: (listener) => void listeners.push(listener),
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(forced);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
