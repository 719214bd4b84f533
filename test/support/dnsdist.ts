/**
 * Debian's dnsdist 1.7.3 as an interop peer. `--check-config` executes the
 * whole configuration (it really creates and pins BPF maps, and print()
 * reaches stdout), which is enough to drive its BPFFilter.
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './free-port.js';
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

function consoleUp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Resolve once `dnsdist`'s console on 127.0.0.1:`consolePort` accepts
 * connections: connection attempts are the readiness event, a bounded
 * number of them. Rejects if dnsdist exits first or the console never
 * comes up (the caller stops it).
 */
export async function waitForDnsdistConsole(dnsdist: SpawnedDnsdist, consolePort: number): Promise<void> {
  for (let attempt = 0; !(await consoleUp(consolePort)); attempt++) {
    if (dnsdist.exited()) throw new Error(`dnsdist exited before its console was up:\n${dnsdist.output()}`);
    if (attempt >= 200) throw new Error(`dnsdist's console on port ${consolePort} did not come up:\n${dnsdist.output()}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 50)); // spaces the connection attempts
  }
}

/** A running Debian dnsdist whose console takes commands through its own client (`dnsdist -c -e`). */
export interface DnsdistWithConsole {
  /** Run one console command (Lua) with dnsdist's client; resolves with what it printed, rejects when the client fails. */
  run(command: string): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Start dnsdist on `config` (Lua lines) plus a DNS listener and a console
 * on free loopback ports; resolves once the console accepts connections
 * (connection attempts are the readiness event, a bounded number of them).
 */
export async function startDnsdistWithConsole(config: string): Promise<DnsdistWithConsole> {
  const consolePort = await freePort();
  const dnsPort = await freePort();
  const key = randomBytes(32).toString('base64');
  const consoleConf = `controlSocket("127.0.0.1:${consolePort}")\nsetKey("${key}")\n`;
  const dnsdist = spawnDnsdist(`setLocal("127.0.0.1:${dnsPort}")\n${consoleConf}${config}\n`, 'dts-dnsdist-console-');
  const clientDir = mkdtempSync(join(tmpdir(), 'dts-dnsdist-client-'));
  const clientConf = join(clientDir, 'client.conf');
  writeFileSync(clientConf, consoleConf);
  const stop = async (): Promise<void> => {
    await dnsdist.stop();
    rmSync(clientDir, { recursive: true, force: true });
  };
  try {
    await waitForDnsdistConsole(dnsdist, consolePort);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    output: dnsdist.output,
    stop,
    run: (command) =>
      new Promise((resolve, reject) => {
        execFile('dnsdist', ['-c', '-C', clientConf, '-e', command], { timeout: 20000, encoding: 'utf8' }, (err, stdout, stderr) => {
          if (err) reject(new Error(`dnsdist -c -e '${command}' failed: ${err.message}\n${stderr}`));
          else if (/^Error/m.test(stdout)) reject(new Error(`dnsdist's console refused '${command}': ${stdout}`));
          else resolve(stdout);
        });
      }),
  };
}
