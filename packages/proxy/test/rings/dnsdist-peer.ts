/**
 * Debian's dnsdist 1.7.3 as a reference peer for the ring analyses: a
 * supervised dnsdist forwarding to a backend of ours, and its console
 * (`dnsdist -C <config> -e <command>`) to read its rings.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { spawnDnsdist } from '../../../../test/support/dnsdist.js';

export { freePort } from '../../../../test/support/free-port.js';

export interface DnsdistPeer {
  /** Run a console command; resolves with what dnsdist printed. */
  run(command: string): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Start dnsdist on `config` (a console key and security-poll opt-out are
 * added) and resolve once its output shows every line in `readyWhen`.
 * Rejects, after stopping it, if dnsdist exits or is not ready in time.
 */
export async function startDnsdistPeer(config: string, consolePort: number, readyWhen: RegExp[]): Promise<DnsdistPeer> {
  const key = randomBytes(32).toString('base64');
  const dnsdist = spawnDnsdist(
    `${config}\ncontrolSocket("127.0.0.1:${consolePort}")\nsetKey("${key}")\nsetSecurityPollSuffix("")\n`,
    'dts-rings-',
  );
  const peer: DnsdistPeer = {
    run: (command) =>
      new Promise((resolve, reject) => {
        execFile('dnsdist', ['-C', dnsdist.file, '-e', command], { timeout: 20_000, encoding: 'utf8' }, (error, stdout, stderr) => {
          if (error) reject(new Error(`dnsdist -e ${command} failed: ${error.message}\n${stderr}`));
          else resolve(stdout);
        });
      }),
    output: dnsdist.output,
    stop: () => dnsdist.stop(),
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dnsdist did not get ready:\n${dnsdist.output()}`)), 15_000);
      const check = (): void => {
        if (readyWhen.every((re) => re.test(dnsdist.output()))) {
          clearTimeout(timer);
          resolve();
        }
      };
      dnsdist.onOutput(check);
      check();
      void dnsdist.exit.then(() => {
        clearTimeout(timer);
        reject(new Error(`dnsdist exited before it was ready:\n${dnsdist.output()}`));
      });
    });
  } catch (e) {
    await peer.stop();
    throw e;
  }
  return peer;
}
