/**
 * The default ACL (private ranges and loopback) as dnsdist 1.7.3 keeps it:
 * addACL and rmACL in the configuration change it, -a on the command line
 * replaces it. The "ACL allowing queries from" start-up line of both
 * programs, side by side, for the same configuration and arguments.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import { freePort } from '../support/proxy-harness.js';
import { CLI, requireBuiltCli } from './cli-process.js';

/** Start `command`, resolve with its "ACL allowing queries from" line, then stop it. */
function aclLine(command: string[], timeoutMs = 20000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ACL line within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /^ACL allowing queries from: .*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        child.kill('SIGTERM');
        resolve(m[0]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', () => {
      clearTimeout(timer);
      if (!/^ACL allowing/m.test(out)) reject(new Error(`exited before its ACL line:\n${out}`));
    });
  });
}

const CASES: Array<[string, string, string[]]> = [
  ['addACL adds to the default ranges', 'addACL("192.0.2.0/24")', []],
  ['rmACL removes a default range', 'rmACL("10.0.0.0/8")', []],
  ['-a replaces the default ranges, addACL adds to it', 'addACL("192.0.2.0/24")', ['-a', '198.51.100.0/24']],
  ['setACL replaces everything', 'addACL("192.0.2.0/24")\nsetACL({"203.0.113.0/24"})', []],
];

describeDnsdist('the default ACL, as dnsdist', () => {
  let dir: string;
  beforeAll(() => {
    requireBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'dts-acl-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(CASES)(
    '%s',
    async (_what, lines, args) => {
      const file = join(dir, `${(await freePort()).toString()}.conf`);
      writeFileSync(file, `setLocal("127.0.0.1:${await freePort()}")\n${lines}\n`);
      const theirs = await aclLine(['dnsdist', '--supervised', '--disable-syslog', '-C', file, ...args]);
      writeFileSync(file, `setLocal("127.0.0.1:${await freePort()}")\n${lines}\n`);
      const ours = await aclLine([process.execPath, CLI, '--supervised', '-C', file, ...args]);
      expect(ours).toBe(theirs);
    },
    60000,
  );
});
