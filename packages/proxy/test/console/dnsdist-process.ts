/**
 * Debian's dnsdist as a live console peer: a supervised server started
 * from a temporary configuration, and the `dnsdist -c -e` client.
 */
import { execFile } from 'node:child_process';
import { spawnDnsdist } from '../../../../test/support/dnsdist.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export { freePort } from '../../../../test/support/free-port.js';

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface RunningDnsdist {
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Start `dnsdist --supervised` on `config` and resolve once its console
 * port accepts connections: connection attempts are the readiness event,
 * retried a bounded number of times. Rejects if dnsdist exits first.
 */
export async function startDnsdist(config: string, consolePort: number): Promise<RunningDnsdist> {
  const dnsdist = spawnDnsdist(config, 'dts-console-');
  const running: RunningDnsdist = { output: dnsdist.output, stop: () => dnsdist.stop() };
  try {
    for (let attempt = 0; ; attempt++) {
      if (dnsdist.exited()) throw new Error(`dnsdist exited before its console was up:\n${dnsdist.output()}`);
      if (await tryConnect(consolePort)) return running;
      if (attempt >= 200) throw new Error(`dnsdist's console on port ${consolePort} did not come up:\n${dnsdist.output()}`);
      // Connection attempts are the readiness signal; space them out a little.
      await new Promise<void>((resolve) => setTimeout(resolve, 50));
    }
  } catch (e) {
    await running.stop();
    throw e;
  }
}

/**
 * Run dnsdist's console client on `config`: with `-e <command>` when a
 * command is given, otherwise interactively with `stdin` as the typed
 * lines. Collects what it prints.
 */
export async function runDnsdistClient(
  config: string,
  command: string | undefined,
  stdin = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'dts-console-client-'));
  try {
    const file = join(dir, 'client.conf');
    writeFileSync(file, config);
    const args = ['-c', '-C', file, ...(command === undefined ? [] : ['-e', command])];
    return await new Promise((resolve) => {
      const child = execFile('dnsdist', args, { timeout: 20000, encoding: 'utf8' }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
      child.stdin!.end(stdin);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
