/**
 * bin/dnsdist-ts through V8's code cache (src/cli/code-cache.ts, the CommonJS bundles of
 * scripts/bundle-cli.mjs): the proxy answers from the cached path, writes the caches of the CLI
 * and of its data-plane workers on a first run and takes them unchanged on the next, and a
 * damaged cache only costs a normal compile.
 */
import { existsSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { codeCacheHeader } from '../../src/cli/code-cache.js';
import { udpQuery } from '../support/dns-client.js';
import { freePort } from '../support/proxy-harness.js';
import { answerWithA, startUdpBackend, type TestBackend } from '../support/test-backends.js';
import { BUNDLE, bundleIsFresh, exited, startCli } from './cli-process.js';

const CLI_CJS = join(dirname(BUNDLE), 'dnsdist-ts.bundle.cjs');
const WORKER_CJS = join(dirname(BUNDLE), '../worker-entry/data-plane-worker.bundle.cjs');

/** The cache beside `bundle` is one made for that bundle's text and is intact. */
function cacheIsGood(bundle: string): boolean {
  const file = readFileSync(`${bundle}.v8cache`);
  const eol = file.indexOf(10);
  return eol > 0 && file.subarray(0, eol + 1).equals(codeCacheHeader(readFileSync(bundle, 'utf8'), file.subarray(eol + 1)));
}

describe('bin/dnsdist-ts through the code cache', () => {
  let backend: TestBackend;
  let dir: string;

  beforeAll(async () => {
    if (!bundleIsFresh() || !existsSync(CLI_CJS) || !existsSync(WORKER_CJS)) {
      throw new Error(`the bundles are missing or older than a tsc build: run 'make build' (or 'pnpm run build')`);
    }
    backend = await startUdpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.46'));
    dir = mkdtempSync(join(tmpdir(), 'dts-code-cache-cli-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await backend.close();
  });

  /** Start through bin/dnsdist-ts, get one answer, stop; the answer's address. */
  async function answerOnce(extra: string[], ready: RegExp): Promise<string | undefined> {
    const port = await freePort();
    const conf = join(dir, 'dnsdist.conf');
    writeFileSync(conf, `newServer{address="127.0.0.1:${backend.port}"}\nsetLocal("127.0.0.1:${port}")\n`);
    const { child } = await startCli(['--supervised', ...extra, '-C', conf], ready, 30_000, 'bin');
    try {
      return (await udpQuery(port, 'code-cache.example.'))?.answers?.[0]?.data as string | undefined;
    } finally {
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
    }
  }

  it('answers queries, writes the cache on a first run and takes it unchanged on the next', async () => {
    rmSync(`${CLI_CJS}.v8cache`, { force: true });
    expect(await answerOnce([], /Listening on/)).toBe('192.0.2.46');
    expect(cacheIsGood(CLI_CJS)).toBe(true);
    const written = readFileSync(`${CLI_CJS}.v8cache`);
    expect(await answerOnce([], /Listening on/)).toBe('192.0.2.46');
    expect(readFileSync(`${CLI_CJS}.v8cache`)).toEqual(written);
  }, 60_000);

  it('starts and answers with a damaged cache, and leaves a good one behind', async () => {
    writeFileSync(`${CLI_CJS}.v8cache`, 'dnsdist-ts-v8cache 1 damaged\n\x00\x01\x02');
    expect(await answerOnce([], /Listening on/)).toBe('192.0.2.46');
    expect(cacheIsGood(CLI_CJS)).toBe(true);
  }, 60_000);

  it('starts its data-plane workers through the worker bundle’s own cache, written by them and taken on the next run', async () => {
    rmSync(`${WORKER_CJS}.v8cache`, { force: true });
    expect(await answerOnce(['--workers', '2'], /2 data-plane workers answer queries/)).toBe('192.0.2.46');
    expect(cacheIsGood(WORKER_CJS)).toBe(true);
    const written = readFileSync(`${WORKER_CJS}.v8cache`);
    expect(await answerOnce(['--workers', '2'], /2 data-plane workers answer queries/)).toBe('192.0.2.46');
    expect(readFileSync(`${WORKER_CJS}.v8cache`)).toEqual(written);
  }, 60_000);
});
