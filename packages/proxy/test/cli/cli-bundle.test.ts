/**
 * The single-file bundle of the CLI (scripts/bundle-cli.mjs): bin/dnsdist-ts picks it only
 * while it is fresher than every tsc build, and, run directly, it finds what lies beside the
 * modules it was built from (the native UDP addon, the dashboard, the BPF objects) at run time,
 * and starts its data-plane workers from the worker bundle made with it.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as dnsPacket from 'dns-packet';
import { describeBpf } from '../../../../test/support/require-bpf.js';
import { udpQuery } from '../support/dns-client.js';
import { freePort } from '../support/proxy-harness.js';
import { answerWithA, startUdpBackend } from '../support/test-backends.js';
import { BIN, BUNDLE, bundleIsFresh, exited, startCli } from './cli-process.js';

/** GET http://127.0.0.1:port/path with basic auth; status and body. */
function fetchPage(port: number, path: string, password: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const auth = Buffer.from(`admin:${password}`).toString('base64');
    get({ host: '127.0.0.1', port, path, headers: { authorization: `Basic ${auth}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('bin/dnsdist-ts choosing between the bundle and the module tree', () => {
  // A copy of the launcher in a scratch tree whose two entry points are stub scripts that only
  // print which one ran, and whose tsc build stamps (tsbuildinfo files) get chosen times.
  let root: string;
  const stamps = ['packages/proxy', 'packages/dns', 'contrib/xdp-filter'];

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'dts-launcher-'));
    mkdirSync(join(root, 'bin'));
    copyFileSync(BIN, join(root, 'bin/dnsdist-ts'));
    mkdirSync(join(root, 'packages/proxy/dist/cli'), { recursive: true });
    writeFileSync(join(root, 'packages/proxy/dist/cli/main.js'), "console.log('stub: module tree', process.argv.slice(2).join(' '));\n");
    for (const dir of stamps) {
      mkdirSync(join(root, dir), { recursive: true });
      writeFileSync(join(root, dir, 'tsconfig.build.tsbuildinfo'), '{}');
      utimesSync(join(root, dir, 'tsconfig.build.tsbuildinfo'), 1_000_000, 1_000_000);
    }
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function launch(): string {
    const r = spawnSync('sh', [join(root, 'bin/dnsdist-ts'), '--check-config', '-C', 'x.conf'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    return r.stdout;
  }

  function writeBundle(mtime: number): void {
    const file = join(root, 'packages/proxy/dist/cli/dnsdist-ts.bundle.js');
    writeFileSync(file, "console.log('stub: bundle', process.argv.slice(2).join(' '));\n");
    utimesSync(file, mtime, mtime);
  }

  it('runs the module tree when there is no bundle', () => {
    expect(launch()).toBe('stub: module tree --check-config -C x.conf\n');
  });

  it('runs the bundle when it is newer than every tsc build', () => {
    writeBundle(2_000_000);
    expect(launch()).toBe('stub: bundle --check-config -C x.conf\n');
  });

  it('runs the module tree when any package was compiled after the bundle was made', () => {
    writeBundle(2_000_000);
    utimesSync(join(root, 'contrib/xdp-filter/tsconfig.build.tsbuildinfo'), 3_000_000, 3_000_000);
    expect(launch()).toBe('stub: module tree --check-config -C x.conf\n');
  });

  it('runs the CommonJS bundle through the code-cache entry when that bundle was made too, and not once the bundles are stale', () => {
    writeBundle(2_000_000);
    writeFileSync(join(root, 'packages/proxy/dist/cli/dnsdist-ts.bundle.cjs'), '');
    writeFileSync(
      join(root, 'packages/proxy/dist/cli/dnsdist-ts-cached.js'),
      "console.log('stub: cached', process.argv.slice(2).join(' '));\n",
    );
    expect(launch()).toBe('stub: cached --check-config -C x.conf\n');
    utimesSync(join(root, 'packages/dns/tsconfig.build.tsbuildinfo'), 3_000_000, 3_000_000);
    expect(launch()).toBe('stub: module tree --check-config -C x.conf\n');
  });
});

describe('the bundled CLI at run time', () => {
  // `make build` leaves a fresh bundle; a bare tsc build would make these tests run the
  // module tree instead, which is not what they are about.
  beforeAll(() => {
    if (!bundleIsFresh()) throw new Error(`${BUNDLE} is missing or older than a tsc build: run 'make build' (or 'pnpm run build')`);
  });

  it('serves the dashboard from the package directory and answers through the UDP addon', async () => {
    const backend = await startUdpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.44'));
    const dir = mkdtempSync(join(tmpdir(), 'dts-bundle-'));
    try {
      const port = await freePort();
      const web = await freePort();
      const conf = join(dir, 'dnsdist.conf');
      writeFileSync(
        conf,
        [
          `newServer{address="127.0.0.1:${backend.port}"}`,
          `setLocal("127.0.0.1:${port}")`,
          `webserver("127.0.0.1:${web}")`,
          'setWebserverConfig({password=hashPassword("bundled"), acl="127.0.0.0/8"})',
        ].join('\n'),
      );
      const { child, output } = await startCli(['--supervised', '-C', conf], /Webserver launched/, 20_000, 'bin');
      try {
        expect((await udpQuery(port, 'bundle.example.'))?.answers?.[0]?.data).toBe('192.0.2.44');
        const page = await fetchPage(web, '/', 'bundled');
        expect(page.status).toBe(200);
        expect(page.body).toMatch(/^<!doctype html>/i);
        expect(output()).not.toMatch(/UDP addon is not built|falling back/i);
      } finally {
        child.kill('SIGTERM');
        expect(await exited(child)).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await backend.close();
    }
  }, 30_000);

  it('starts its data-plane workers from the worker bundle made with it, and they answer', async () => {
    const workerBundle = join(dirname(BUNDLE), '../worker-entry/data-plane-worker.bundle.js');
    expect(existsSync(workerBundle)).toBe(true);
    // The module tree's app/worker-entry-url.js names data-plane-worker.js; in the bundle it names the worker bundle.
    expect(readFileSync(BUNDLE, 'utf8')).toContain('"../worker-entry/data-plane-worker.bundle.js"');
    const backend = await startUdpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.45'));
    const dir = mkdtempSync(join(tmpdir(), 'dts-bundle-workers-'));
    try {
      const port = await freePort();
      const conf = join(dir, 'dnsdist.conf');
      writeFileSync(conf, `newServer{address="127.0.0.1:${backend.port}"}\nsetLocal("127.0.0.1:${port}")\n`);
      const { child } = await startCli(
        ['--supervised', '--workers', '2', '-C', conf],
        /2 data-plane workers answer queries/,
        20_000,
        'bin',
      );
      try {
        expect((await udpQuery(port, 'workers.bundle.example.'))?.answers?.[0]?.data).toBe('192.0.2.45');
      } finally {
        child.kill('SIGTERM');
        expect(await exited(child)).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await backend.close();
    }
  }, 30_000);

  describeBpf('with BPF', () => {
    it('loads the socket filter object shipped beside @dnsdist-ts/bpf-filter', () => {
      const dir = mkdtempSync(join(tmpdir(), 'dts-bundle-bpf-'));
      try {
        const conf = join(dir, 'dnsdist.conf');
        writeFileSync(conf, 'local f = newBPFFilter({ipv4MaxItems=16, ipv6MaxItems=16, qnamesMaxItems=16})\nsetDefaultBPFFilter(f)\n');
        const r = spawnSync(BIN, ['--check-config', '-C', conf], { encoding: 'utf8', timeout: 30_000 });
        expect(r.stdout).toBe(`Configuration '${conf}' OK!\n`);
        expect(r.status).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
