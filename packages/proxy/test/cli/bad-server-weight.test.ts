/**
 * newServer with a weight outside 1..2147483647: as dnsdist 1.7.3, one of
 * its two error lines is logged, no server is made (newServer returns nil)
 * and the configuration goes on; `--check-config` says OK. The whole output
 * of `--check-config`, stdout and stderr as one stream, is compared with
 * Debian's dnsdist 1.7.3 on the same file. A weight that is not a whole
 * number stays an error here (dnsdist reads 1.5 as 1).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import { CLI, requireBuiltCli, runCli } from './cli-process.js';

const CONFIG = `setServerPolicy(wrandom)
s1 = newServer{address="127.0.0.1:5350", weight=-1}
s2 = newServer{address="127.0.0.1:5351", weight=2147483648}
s3 = newServer{address="127.0.0.1:5352", weight=0}
s4 = newServer{address="127.0.0.1:5353", weight=2147483647}
print(#getServers())
`;

/** `--check-config` with stderr merged into stdout, as a log file or the harness sees it. */
function checkConfigMerged(command: string[], file: string): { status: number; output: string } {
  const r = spawnSync('sh', ['-c', '"$@" 2>&1', 'sh', ...command, '--check-config', '-C', file], { encoding: 'utf8', timeout: 20000 });
  return { status: r.status ?? -1, output: r.stdout };
}

describeDnsdist('newServer with a bad weight, as dnsdist', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    requireBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'dts-weight-'));
    file = join(dir, 'dnsdist.conf');
    writeFileSync(file, CONFIG);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('logs dnsdist’s two lines, skips the servers and says OK, line for line as dnsdist 1.7.3', () => {
    const theirs = checkConfigMerged(['dnsdist'], file);
    const ours = checkConfigMerged([process.execPath, CLI], file);
    expect(theirs.status).toBe(0);
    expect(ours.status).toBe(0);
    expect(ours.output).toBe(theirs.output);
    expect(ours.output).toBe(
      [
        'Error creating new server: downstream weight value must be greater than 0.',
        'Error creating new server: downstream weight value must be between 1 and 2147483647',
        'Error creating new server: downstream weight value must be greater than 0.',
        '1',
        `Configuration '${file}' OK!`,
        '',
      ].join('\n'),
    );
  });

  it('returns nil for the skipped server, and still refuses a weight that is not a whole number', () => {
    const nilFile = join(dir, 'nil.conf');
    writeFileSync(nilFile, 's = newServer{address="127.0.0.1:5350", weight=-1}\nprint(s == nil)\n');
    expect(runCli(['--check-config', '-C', nilFile]).stdout).toContain('true\n');
    const fractionFile = join(dir, 'fraction.conf');
    writeFileSync(fractionFile, 'newServer{address="127.0.0.1:5350", weight=1.5}\n');
    const r = runCli(['--check-config', '-C', fractionFile]);
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toContain("newServer: option 'weight' must be an integer, got 1.5");
  });
});
