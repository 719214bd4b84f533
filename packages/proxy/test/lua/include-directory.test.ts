/**
 * includeDirectory(): which files run and in what order, side by side with
 * Debian's dnsdist 1.7.3 (`--check-config` runs the configuration and its
 * print() reaches stdout), and the errors for misuse.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dnsdistCheckConfig, describeDnsdist } from '../../../../test/support/dnsdist.js';
import { startProxy } from '../support/proxy-harness.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dts-include-'));
  const conf = (name: string): void => writeFileSync(join(dir, name), `print("ran ${name}")\n`);
  for (const name of ['20-b.conf', '10-a.conf', 'B.conf', 'a.conf', '.hidden.conf', 'notes.txt', 'x.conf.bak', '_u.conf']) conf(name);
  mkdirSync(join(dir, 'sub.conf'));
  symlinkSync(join(dir, 'a.conf'), join(dir, 'link.conf'));
  symlinkSync(join(dir, 'missing'), join(dir, 'dangling.conf'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ranLines = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('ran '));

describeDnsdist('includeDirectory against dnsdist 1.7.3', () => {
  it('runs the same files in the same order', async () => {
    const theirs = dnsdistCheckConfig(`includeDirectory("${dir}")\n`);
    expect(theirs.status).toBe(0);
    const proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")\nincludeDirectory("${dir}")`);
    try {
      expect(ranLines(proxy.output.join('\n'))).toEqual(ranLines(theirs.stdout));
      expect(ranLines(theirs.stdout)).toEqual(['ran 10-a.conf', 'ran 20-b.conf', 'ran B.conf', 'ran _u.conf', 'ran a.conf', 'ran a.conf']);
    } finally {
      await proxy.stop();
    }
  });
});

describe('includeDirectory misuse', () => {
  it('refuses a directory that does not exist, and a file', async () => {
    await expect(startProxy(`includeDirectory("${dir}/nope")`)).rejects.toThrow(/includeDirectory: cannot read .*nope.*ENOENT/);
    await expect(startProxy(`includeDirectory("${dir}/a.conf")`)).rejects.toThrow(/is not a directory/);
  });

  it('refuses recursion and use from the console', async () => {
    const nested = mkdtempSync(join(tmpdir(), 'dts-include-nested-'));
    try {
      writeFileSync(join(nested, 'self.conf'), `includeDirectory("${nested}")\n`);
      await expect(startProxy(`includeDirectory("${nested}")`)).rejects.toThrow(/cannot be used recursively/);
    } finally {
      rmSync(nested, { recursive: true, force: true });
    }
    const proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")`);
    try {
      expect(proxy.app.runConsoleCommand(`includeDirectory("${dir}")`)).toMatch(/cannot be used at runtime/);
    } finally {
      await proxy.stop();
    }
  });
});
