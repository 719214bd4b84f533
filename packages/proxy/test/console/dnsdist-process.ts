/**
 * Debian's dnsdist as a live console peer: a supervised server started
 * from a temporary configuration, and the `dnsdist -c -e` client.
 */
import { execFile } from 'node:child_process';
import { spawnDnsdist, waitForDnsdistConsole } from '../../../../test/support/dnsdist.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export { freePort } from '../../../../test/support/free-port.js';

export interface RunningDnsdist {
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Start `dnsdist --supervised` on `config` and resolve once its console
 * port accepts connections (waitForDnsdistConsole). Rejects, with dnsdist
 * stopped, if it exits first or its console does not come up.
 */
export async function startDnsdist(config: string, consolePort: number): Promise<RunningDnsdist> {
  const dnsdist = spawnDnsdist(config, 'dts-console-');
  const running: RunningDnsdist = { output: dnsdist.output, stop: () => dnsdist.stop() };
  try {
    await waitForDnsdistConsole(dnsdist, consolePort);
    return running;
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
