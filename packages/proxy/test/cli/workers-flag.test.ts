/** --workers N on the command line: checked like every option, and winning over setWorkers() in the configuration. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandLineError, parseCommandLine } from '../../src/cli/command-line.js';
import { runCli } from './cli-process.js';

describe('--workers', () => {
  it('takes an integer from 1 to 128 and refuses anything else, saying what it got', () => {
    expect(parseCommandLine([]).workers).toBeUndefined();
    expect(parseCommandLine(['--workers', '4']).workers).toBe(4);
    expect(parseCommandLine(['--workers=2']).workers).toBe(2);
    for (const bad of ['0', '129', '-1', '1.5', 'two', '']) {
      expect(() => parseCommandLine(['--workers', bad])).toThrow(CommandLineError);
    }
    expect(() => parseCommandLine(['--workers', 'two'])).toThrow(/--workers: .* integer from 1 to 128, got "two"/);
  });

  it('is checked with --check-config: a function refused with several workers fails the check at its line, and --workers 1 wins over setWorkers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dts-workers-cli-'));
    try {
      const conf = join(dir, 'dnsdist.conf');
      writeFileSync(conf, 'setWorkers(2)\nnewServer{address="127.0.0.1:9"}\nlocal g = dynBlockRulesGroup()\n');
      const refused = runCli(['--check-config', '-C', conf]);
      expect(refused.status).toBe(1);
      expect(refused.stdout).toMatch(/^Fatal Lua error: .*dnsdist\.conf:3: dynBlockRulesGroup: not supported with 2 data-plane workers/m);
      const one = runCli(['--check-config', '--workers', '1', '-C', conf]);
      expect(one.stdout).toBe(`Configuration '${conf}' OK!\n`);
      expect(one.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
