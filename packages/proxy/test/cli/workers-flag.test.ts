/** --workers N on the command line: checked like every option, and winning over setWorkers() in the configuration. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandLineError, parseCommandLine } from '../../src/cli/command-line.js';
import { exited, runCli, startCli } from './cli-process.js';
import { udpQuery } from '../support/dns-client.js';
import { freePort } from '../support/proxy-harness.js';
import { answerWithA, startUdpBackend } from '../support/test-backends.js';
import * as dnsPacket from 'dns-packet';

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

  it('is checked with --check-config: getBind(n):detachFilter() passes with setWorkers(2) and with --workers 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dts-workers-cli-'));
    try {
      const conf = join(dir, 'dnsdist.conf');
      writeFileSync(conf, 'setWorkers(2)\nnewServer{address="127.0.0.1:9"}\ngetBind(0):detachFilter()\n');
      const two = runCli(['--check-config', '-C', conf]);
      expect(two.stdout).toBe(`Configuration '${conf}' OK!\n`);
      expect(two.status).toBe(0);
      const one = runCli(['--check-config', '--workers', '1', '-C', conf]);
      expect(one.stdout).toBe(`Configuration '${conf}' OK!\n`);
      expect(one.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the program with two workers through bin/dnsdist-ts: it answers, and SIGTERM stops the workers and the process cleanly', async () => {
    const backend = await startUdpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.8'));
    const dir = mkdtempSync(join(tmpdir(), 'dts-workers-cli-'));
    try {
      const port = await freePort();
      const conf = join(dir, 'dnsdist.conf');
      writeFileSync(conf, `newServer{address="127.0.0.1:${backend.port}"}\nsetLocal("127.0.0.1:${port}")\n`);
      const { child, output } = await startCli(
        ['--supervised', '--workers', '2', '-C', conf],
        /2 data-plane workers answer queries/,
        20_000,
        'bin',
      );
      expect(output()).toContain(`Listening on 127.0.0.1:${port}`);
      expect((await udpQuery(port, 'cli.example.'))?.answers?.[0]?.data).toBe('192.0.2.8');
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await backend.close();
    }
  }, 30_000);
});
