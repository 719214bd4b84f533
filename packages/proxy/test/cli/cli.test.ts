import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { parseCommandLine, CommandLineError } from '../../src/cli/command-line.js';
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import { partRequires } from '../../../../test/support/require.js';
import { dnsdist } from '../../../../test/support/requirements.js';
import { startDemo, freePort } from '../support/proxy-harness.js';
import { udpQuery } from '../support/dns-client.js';
import { BUNDLE, CLI, MAIN, exited, runCli, startCli } from './cli-process.js';

const KEY = '1wRHxN0j6kHhLv6B2Aaw0OuQ0T4TGxzhL8O3bn0n2kM=';

describe('command line parsing', () => {
  it('takes dnsdist flags, repeated -l/-a and trailing backends', () => {
    const cl = parseCommandLine([
      '-C',
      'x.conf',
      '-l',
      '127.0.0.1:5300',
      '--local=[::1]:5300',
      '-a',
      '192.0.2.0/24',
      '-v',
      '--supervised',
      '9.9.9.9',
    ]);
    expect(cl.config).toBe('x.conf');
    expect(cl.locals).toEqual(['127.0.0.1:5300', '[::1]:5300']);
    expect(cl.acls).toEqual(['192.0.2.0/24']);
    expect(cl.verbose).toBe(true);
    expect(cl.supervised).toBe(true);
    expect(cl.backends).toEqual(['9.9.9.9']);
  });
  it('treats -c as a client with an optional attached address, -e as implying the client', () => {
    expect(parseCommandLine(['-c']).client).toBe('');
    expect(parseCommandLine(['--client=127.0.0.1:5199']).client).toBe('127.0.0.1:5199');
    const e = parseCommandLine(['-e', 'showVersion()']);
    expect(e.client).toBe('');
    expect(e.execute).toBe('showVersion()');
  });
  it('refuses unknown options and missing values', () => {
    expect(() => parseCommandLine(['--nope'])).toThrow(CommandLineError);
    expect(() => parseCommandLine(['-C'])).toThrow(/needs a value/);
  });
});

describe('dnsdist-ts CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dts-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const conf = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it('--check-config prints exactly "Configuration \'<file>\' OK!" and exits 0', () => {
    const f = conf('good.conf', 'setLocal("127.0.0.1:5300")\nnewServer("192.0.2.1")\n');
    const r = runCli(['--check-config', '-C', f]);
    expect(r.stdout).toBe(`Configuration '${f}' OK!\n`);
    expect(r.status).toBe(0);
  });

  it('--check-config reports a Lua error with file and line and exits 1', () => {
    const f = conf('bad.conf', 'setLocal("127.0.0.1:5300")\nnosuchfunction()\n');
    const r = runCli(['--check-config', '-C', f]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`${f}:2:`);
    expect(r.stdout).toContain("global 'nosuchfunction'");
  });

  it('--check-config refuses a misspelt option instead of ignoring it', () => {
    const f = conf('typo.conf', 'newServer{address="192.0.2.1", wieght=10}\n');
    const r = runCli(['--check-config', '-C', f]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("unknown option 'wieght'");
    expect(r.stdout).toContain(`${f}:1:`);
  });

  it('--check-config reports a syntax error', () => {
    const f = conf('syntax.conf', 'x = 1 +\n');
    const r = runCli(['--check-config', '-C', f]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/syntax\.conf:\d+: unexpected symbol/);
  });

  it('runs LuaJIT-style configurations (unpack, bit, loadstring, table.getn)', () => {
    const f = conf(
      'luajit.conf',
      `local t = {1, 2, 3}
       local a, b, c = unpack(t)
       assert(a + b + c == 6 and table.getn(t) == 3)
       assert(bit.band(0xff, 0x0f) == 15 and bit.bor(1, 2) == 3 and bit.lshift(1, 4) == 16)
       assert(bit.rshift(-1, 28) == 15 and bit.tohex(255, 4) == "00ff" and bit.tobit(4294967295) == -1)
       assert(loadstring("return 7")() == 7 and math.pow(2, 10) == 1024)
       newServer("192.0.2.1")`,
    );
    const r = runCli(['--check-config', '-C', f]);
    expect(r.stdout).toBe(`Configuration '${f}' OK!\n`);
  });

  it('the shipped conf/dnsdist.conf passes --check-config, as it does with dnsdist 1.7.3', () => {
    const shipped = join(dirname(fileURLToPath(import.meta.url)), '../../../../conf/dnsdist.conf');
    expect(runCli(['--check-config', '-C', shipped]).stdout).toBe(`Configuration '${shipped}' OK!\n`);
    if (partRequires("dnsdist 1.7.3's verdict on the shipped configuration", dnsdist)) {
      const viaDnsdist = spawnSync('dnsdist', ['--check-config', '-C', shipped], { encoding: 'utf8', timeout: 20000 });
      expect(viaDnsdist.stdout).toContain(`Configuration '${shipped}' OK!`);
    }
  });

  it('-V prints the version', () => {
    expect(runCli(['-V']).stdout).toMatch(/^dnsdist-ts \d+\.\d+\.\d+/);
  });

  it('serves queries, obeys -l over setLocal, and exits cleanly on SIGTERM within a second', async () => {
    const demo = await startDemo();
    try {
      const port = await freePort();
      const f = conf('serve.conf', `setLocal("127.0.0.1:1")\nnewServer{address="127.0.0.1:${demo.port}", checkName="example.test."}\n`);
      const { child } = await startCli(['--supervised', '-C', f, '-l', `127.0.0.1:${port}`], /Listening on 127\.0\.0\.1:\d+/);
      try {
        const a = await udpQuery(port, 'www.example.test');
        expect(a?.answers?.[0]?.data).toBe('192.0.2.10');
        const t0 = Date.now();
        child.kill('SIGTERM');
        expect(await exited(child)).toBe(0);
        expect(Date.now() - t0).toBeLessThan(1000);
      } finally {
        child.kill('SIGKILL');
      }
    } finally {
      await demo.close();
    }
  });

  it('runs node with --no-memory-reducer from bin/dnsdist-ts and from the package bin', async () => {
    // The flag only works on node's command line (see src/cli/main.ts): check both launchers carry it.
    const proxyPackage = join(dirname(BUNDLE), '../..');
    const packageBin = (JSON.parse(readFileSync(join(proxyPackage, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;
    expect(join(proxyPackage, packageBin['dnsdist-ts']!)).toBe(BUNDLE);
    for (const entry of [BUNDLE, MAIN])
      expect(readFileSync(entry, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env -S node --no-memory-reducer');
    const port = await freePort();
    const f = conf('flags.conf', `setLocal("127.0.0.1:${port}")\n`);
    const { child } = await startCli(['--supervised', '-C', f], /Listening on 127\.0\.0\.1:\d+/, 10000, 'bin');
    try {
      // bin/dnsdist-ts execs node: same pid.
      const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
      expect(argv).toContain('--no-memory-reducer');
      // The bundle when fresh (always after `make build`), as CLI chooses: bin/dnsdist-ts runs it through V8's code cache.
      expect(argv.some((a) => a.endsWith(CLI === BUNDLE ? 'dist/cli/dnsdist-ts-cached.js' : 'dist/cli/main.js'))).toBe(true);
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  describeDnsdist('console interop', () => {
    it("Debian's dnsdist -c drives dnsdist-ts, and dnsdist-ts -e drives dnsdist-ts", async () => {
      const port = await freePort();
      const ctl = await freePort();
      const f = conf(
        'console.conf',
        `setLocal("127.0.0.1:${port}")\ncontrolSocket("127.0.0.1:${ctl}")\nsetKey("${KEY}")\nnewServer{address="127.0.0.1:9", name="nine", healthCheckMode="down"}\n`,
      );
      const { child } = await startCli(['--supervised', '-C', f], /Accepting control connections/);
      try {
        const viaDnsdist = spawnSync('dnsdist', ['-C', f, '-c', '-e', 'getServer(0):getName()'], { encoding: 'utf8', timeout: 10000 });
        expect(viaDnsdist.stdout).toBe('nine\n');
        const own = runCli(['-C', f, '-e', 'showServers()']);
        expect(own.stdout).toMatch(/^0 {3}nine {17}127\.0\.0\.1:9\s+DOWN\s/m);
        const err = runCli(['-C', f, '-e', 'nosuch()']);
        expect(err.stdout).toMatch(/^Error: console:1: attempt to call a nil value \(global 'nosuch'\)/);
      } finally {
        child.kill('SIGTERM');
        await exited(child);
      }
    });

    it("dnsdist-ts -c drives Debian's dnsdist", async () => {
      const port = await freePort();
      const ctl = await freePort();
      const f = conf('dd.conf', `setLocal("127.0.0.1:${port}")\ncontrolSocket("127.0.0.1:${ctl}")\nsetKey("${KEY}")\n`);
      const { spawn } = await import('node:child_process');
      const dd = spawn('dnsdist', ['--supervised', '--disable-syslog', '-C', f], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        await new Promise<void>((resolve, reject) => {
          let out = '';
          const t = setTimeout(() => reject(new Error(`dnsdist did not start: ${out}`)), 10000);
          const onData = (d: Buffer): void => {
            out += d.toString();
            if (out.includes('Accepting control connections')) {
              clearTimeout(t);
              resolve();
            }
          };
          dd.stdout!.on('data', onData);
          dd.stderr!.on('data', onData);
        });
        expect(runCli(['-C', f, '-e', 'showVersion()']).stdout).toBe('dnsdist 1.7.3\n');
      } finally {
        dd.kill('SIGKILL');
      }
    });
  });
});
