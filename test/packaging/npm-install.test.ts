/**
 * The packages installed the way a user outside this repository would:
 * `pnpm pack` of the CLI package and its workspace dependencies, then
 * `npm install -g --prefix TMP` of the tarballs (third-party dependencies
 * from the npm registry, the native addons built by the packages' install
 * scripts), then the installed `dnsdist-ts` and `xdp-filter` run from TMP/bin.
 * Needs the build (`make`): the tarballs carry dist/ and the BPF objects.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { partRequires } from '../support/require.js';
import { bpf } from '../support/require-bpf.js';
import { systemdAnalyze } from '../support/requirements.js';
import { freePort, startDemo } from '../../packages/proxy/test/support/proxy-harness.js';
import { udpQuery, waitFor } from '../../packages/proxy/test/support/dns-client.js';
import type { DemoServer } from '../../packages/proxy/src/demo/demo-authoritative-server.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The CLI package and every workspace package it depends on, directly or not. */
const PACKAGES = [
  'packages/dns',
  'packages/bpf',
  'packages/bpf-filter',
  'contrib/xdp-filter',
  'packages/dataplane',
  'packages/console',
  'packages/dynblocks',
  'packages/ebpf',
  'packages/web',
  'packages/integrations',
  'packages/lua',
  'packages/workers',
  'packages/proxy',
];
const INSTALL_TIMEOUT_MS = 10 * 60_000;

let work: string;
let prefix: string;
let installError: Error | undefined;
const installed = (name: string): string => join(prefix, 'lib', 'node_modules', ...name.split('/'));
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

function run(cmd: string, args: string[], cwd: string, timeout = 120_000, env = process.env): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed (${r.error?.message ?? r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'dnsdist-ts-pack-'));
  prefix = join(work, 'prefix');
  try {
    const tarballs = join(work, 'tarballs');
    for (const pkg of PACKAGES) run('pnpm', ['pack', '--pack-destination', tarballs], join(root, pkg));
    const started = Date.now();
    run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', ...readdirSync(tarballs).map((t) => join(tarballs, t))],
      work,
      INSTALL_TIMEOUT_MS,
    );
    process.stderr.write(`npm install -g of ${PACKAGES.length} tarballs took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (err) {
    installError = err as Error;
  }
}, INSTALL_TIMEOUT_MS + 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function needInstall(): void {
  if (installError) throw installError;
}

describe('the packed packages installed with npm install -g into a temporary prefix', () => {
  it('name real versions of each other, not workspace: ranges', () => {
    needInstall();
    for (const pkg of PACKAGES) {
      const source = readJson(join(root, pkg, 'package.json'));
      const packed = readJson(join(installed(source.name as string), 'package.json'));
      const deps = (packed.dependencies ?? {}) as Record<string, string>;
      for (const [dep, range] of Object.entries(deps)) {
        expect(`${dep}@${range}`).not.toMatch(/workspace:/);
        if (dep.startsWith('@dnsdist-ts/'))
          expect(`${dep}@${range}`).toBe(`${dep}@${readJson(join(installed(dep), 'package.json')).version as string}`);
      }
    }
  });

  it('built the native addons at install time and ship the BPF objects prebuilt', () => {
    needInstall();
    expect(readdirSync(join(installed('@dnsdist-ts/bpf'), 'build', 'Release'))).toContain('dnsdist_bpf.node');
    expect(readdirSync(join(installed('@dnsdist-ts/dataplane'), 'build', 'Release'))).toContain('dnsdist_udp.node');
    for (const [pkg, obj] of [
      ['@dnsdist-ts/bpf-filter', 'bpf/socket-filter.bpf.o'],
      ['@dnsdist-ts/xdp-filter', 'bpf/xdp-filter.bpf.o'],
    ] as const) {
      const source = pkg === '@dnsdist-ts/bpf-filter' ? 'packages/bpf-filter' : 'contrib/xdp-filter';
      expect(readFileSync(join(installed(pkg), obj)).equals(readFileSync(join(root, source, obj)))).toBe(true);
    }
  });

  it('dnsdist-ts --check-config accepts a configuration and rejects a broken one', () => {
    needInstall();
    // The installed command is the single-file bundle (scripts/bundle-cli.mjs), which finds the other packages' files through Node's resolution.
    expect(realpathSync(join(prefix, 'bin', 'dnsdist-ts'))).toMatch(/\/@dnsdist-ts\/proxy\/dist\/cli\/dnsdist-ts\.bundle\.js$/);
    const good = join(work, 'good.conf');
    writeFileSync(good, 'setLocal("127.0.0.1:5300")\nnewServer{address="127.0.0.1:5301"}\n');
    expect(run(join(prefix, 'bin', 'dnsdist-ts'), ['--check-config', '-C', good], work)).toBe(`Configuration '${good}' OK!\n`);
    const bad = join(work, 'bad.conf');
    writeFileSync(bad, 'newServer{address="127.0.0.1:5301"\n');
    const r = spawnSync(join(prefix, 'bin', 'dnsdist-ts'), ['--check-config', '-C', bad], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^Fatal Lua error: /);
  });

  it('dnsdist-ts answers a query through a backend (and its socket filter, from the tarball, drops a blocked name)', async () => {
    needInstall();
    const withBpf = partRequires('the socket filter dropping a blocked name', bpf);
    const backend: DemoServer = await startDemo();
    const port = await freePort();
    const conf = join(work, 'run.conf');
    writeFileSync(
      conf,
      `setLocal("127.0.0.1:${port}")\nnewServer{address="127.0.0.1:${backend.port}"}\n` +
        (withBpf
          ? 'bpf = newBPFFilter(16, 16, 16)\nsetDefaultBPFFilter(bpf)\nbpf:blockQName(newDNSName("blocked.example.test."), 255)\n'
          : ''),
    );
    let child: ChildProcess | undefined;
    try {
      const proc = spawn(
        join(prefix, 'bin', 'dnsdist-ts'),
        ['--supervised', '-C', conf, ...(withBpf ? ['-u', 'nobody', '-g', 'nogroup'] : [])],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = proc;
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const onData = (d: Buffer): void => {
          out += d.toString();
          if (out.includes(`Listening on 127.0.0.1:${port}`)) resolve();
        };
        proc.stdout.on('data', onData);
        proc.stderr.on('data', onData);
        proc.on('exit', (code) => reject(new Error(`the installed dnsdist-ts exited with ${code}:\n${out}`)));
      });
      // As root, the installed addon's -u/-g switch too.
      if (withBpf) await waitFor('the switch to nobody', () => /^Uid:\t65534\t/m.test(readFileSync(`/proc/${proc.pid}/status`, 'utf8')));
      const answer = await udpQuery(port, 'www.example.test.', { timeoutMs: 5000 });
      expect(answer?.rcode).toBe('NOERROR');
      expect(answer?.answers?.map((a) => a.data)).toEqual(['192.0.2.10']);
      if (withBpf) expect(await udpQuery(port, 'blocked.example.test.', { timeoutMs: 1000 })).toBeUndefined();
    } finally {
      child?.kill('SIGTERM');
      await backend.close();
    }
  });

  it('xdp-filter --help prints its usage', () => {
    needInstall();
    expect(run(join(prefix, 'bin', 'xdp-filter'), ['--help'], work)).toMatch(/^usage:\n {2}xdp-filter attach --iface IF/);
  });

  it('the install script names the Debian packages it lacks instead of failing in the compiler', () => {
    needInstall();
    const script = join(installed('@dnsdist-ts/bpf'), 'scripts', 'build-addon.mjs');
    // A PATH with node alone: no compiler, make, python3 or pkg-config.
    const bare = join(work, 'bare-bin');
    mkdirSync(bare);
    symlinkSync(process.execPath, join(bare, 'node'));
    const noTools = spawnSync(process.execPath, [script, '--libbpf'], {
      cwd: installed('@dnsdist-ts/bpf'),
      encoding: 'utf8',
      env: { PATH: bare, npm_package_name: '@dnsdist-ts/bpf' },
    });
    expect(noTools.status).toBe(1);
    expect(noTools.stderr).toContain('@dnsdist-ts/bpf: cannot build the native addon');
    expect(noTools.stderr).toContain('Debian packages: g++ make python3 pkg-config.');
    // Tools present, libbpf's pkg-config file not found: libbpf-dev alone is named.
    const empty = join(work, 'no-pc');
    mkdirSync(empty);
    const noLibbpf = spawnSync(process.execPath, [script, '--libbpf'], {
      cwd: installed('@dnsdist-ts/bpf'),
      encoding: 'utf8',
      env: { ...process.env, PKG_CONFIG_LIBDIR: empty, PKG_CONFIG_PATH: '', npm_package_name: '@dnsdist-ts/bpf' },
    });
    expect(noLibbpf.status).toBe(1);
    expect(noLibbpf.stderr).toContain('Debian packages: libbpf-dev.');
    expect(readFileSync(join(root, 'packages/dataplane/scripts/build-addon.mjs'), 'utf8')).toBe(
      readFileSync(join(root, 'packages/bpf/scripts/build-addon.mjs'), 'utf8'),
    );
  });

  it('the systemd unit verifies against the installed dnsdist-ts', () => {
    needInstall();
    if (!partRequires('systemd-analyze verify', systemdAnalyze)) return;
    const unit = readFileSync(join(root, 'packaging', 'systemd', 'dnsdist-ts.service'), 'utf8').replaceAll(
      '/usr/local/bin/',
      `${prefix}/bin/`,
    );
    const copy = join(work, 'dnsdist-ts.service');
    writeFileSync(copy, unit);
    const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8', timeout: 60_000 });
    expect({ status: r.status, stderr: r.stderr.trim() }).toEqual({ status: 0, stderr: '' });
  });
});
