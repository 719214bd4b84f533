#!/usr/bin/env node
/**
 * `make test`'s second pass over the proxy's end-to-end files: the same files
 * run again with DNSDIST_TS_TEST_WORKERS=2, every proxy they start answering in
 * two data-plane workers (packages/proxy/test/support/test-workers.ts), since
 * dnsdist's behaviour must not depend on the worker count.
 *
 * The files that cannot run with two workers today are listed below, each with
 * its reason (docs/development.md has the table); they still run with one
 * worker in the first pass. A listed file that no longer exists fails the run,
 * so that the list cannot go stale. Extra arguments go to jest.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Folders whose every test file runs with two workers (minus the exceptions). */
export const TWO_WORKER_FOLDERS = ['packages/proxy/test/e2e'];

/**
 * Files outside those folders that start a proxy and run with two workers too.
 * Not here, with one worker only: rules/lua-scripted-rules (it reads, from the
 * control plane, Lua globals that LuaActions set in the worker's Lua state);
 * dynblocks/dnsdist-parity and ebpf/dynblocks-kernel (they pass with two
 * workers alone, but under the pass's load a block reaches the workers a
 * query later than dnsdist's count, or the kernel hits later than their 5 s).
 */
export const TWO_WORKER_FILES = [
  'packages/proxy/test/backend/balancing-factors.test.ts',
  'packages/proxy/test/cli/acl-defaults.test.ts',
  'packages/proxy/test/cli/bad-server-weight.test.ts',
  'packages/proxy/test/cli/cli.test.ts',
  'packages/proxy/test/cli/privileges.test.ts',
  'packages/proxy/test/cli/service-notify.test.ts',
  'packages/proxy/test/console/console-command-limits.test.ts',
  'packages/proxy/test/console/console-dnsdist-parity.test.ts',
  'packages/proxy/test/console/console-sigterm.test.ts',
  'packages/proxy/test/crowdsec/crowdsec-bouncer-kernel.test.ts',
  'packages/proxy/test/doh/doh-dnsdist-parity.test.ts',
  'packages/proxy/test/doh/doh-frontend.test.ts',
  'packages/proxy/test/dynblocks/dyn-block-wiring.test.ts',
  'packages/proxy/test/dynblocks/dynblocks-e2e.test.ts',
  'packages/proxy/test/dynblocks/stat-node-resp-ring-parity.test.ts',
  'packages/proxy/test/dynblocks/time-to-block.test.ts',
  'packages/proxy/test/ebpf/dynblocks-dnsdist-parity.test.ts',
  'packages/proxy/test/ebpf/ebpf-bindings.test.ts',
  'packages/proxy/test/ebpf/internal-socket-filter.test.ts',
  'packages/proxy/test/ebpf/xdp-filter-attach.test.ts',
  'packages/proxy/test/ebpf/xdp-filter-dot.test.ts',
  'packages/proxy/test/ebpf/xdp-index-guard.test.ts',
  'packages/proxy/test/fleet/fleet-sync-e2e.test.ts',
  'packages/proxy/test/fleet/fleet-sync-kernel.test.ts',
  'packages/proxy/test/hostile/hostile-input-suite.test.ts',
  'packages/proxy/test/lua/include-directory.test.ts',
  'packages/proxy/test/lua/lua-globals-copy.test.ts',
  'packages/proxy/test/rules/ecs-actions.test.ts',
  'packages/proxy/test/rules/proxy-protocol-rules.test.ts',
  'packages/proxy/test/web/block-api.test.ts',
  'packages/proxy/test/web/block-api-engine.test.ts',
  'packages/proxy/test/web/block-api-kernel.test.ts',
  'packages/proxy/test/web/credentials.test.ts',
  'packages/proxy/test/web/dnsdist-web-parity.test.ts',
  'packages/proxy/test/web/kernel-metrics.test.ts',
  'packages/proxy/test/web/lua-web-bindings.test.ts',
  'packages/proxy/test/web/metrics-prepare.test.ts',
  'packages/proxy/test/web/webserver-hostile-input.test.ts',
];

/**
 * Files that run with one worker only, and why (docs/development.md has the
 * table). "per-worker": the test asserts
 * dnsdist's one-process figure for something each worker keeps apart today.
 * "counter lag": the test compares counter snapshots around one exchange of
 * figures the control plane still gathers a few times a second (the cache's
 * entry counts; the global, backend, rule and listener counters are read
 * live, workers/live-counters.ts and run-time-counters.ts) and no event says
 * when a sum includes a query. Single tests
 * that need one worker pass oneWorker(reason) (test/support/test-workers.ts).
 */
export const SINGLE_WORKER_ONLY = new Map([
  ['packages/proxy/test/e2e/doh-backend.test.ts', 'per-worker: each worker opens its own DoH connections to a backend'],
  [
    'packages/proxy/test/e2e/dnscrypt-metrics-parity.test.ts',
    "per-worker: the TCP moving averages are each worker's, averaged over the workers that have one",
  ],
  [
    'packages/proxy/test/e2e/tcp-backend-ooor.test.ts',
    'per-worker: each worker opens its own TCP connections to a backend (new/reused counts)',
  ],
  [
    'packages/proxy/test/e2e/tcp-backend-reconnect.test.ts',
    'per-worker: pooled TCP connections are per worker; counter lag: exact backend counters right after each exchange',
  ],
  [
    'packages/proxy/test/e2e/dot-backend.test.ts',
    'per-worker: each worker opens its own DoT connections to a backend (new/reused, resumptions)',
  ],
  [
    'packages/proxy/test/e2e/doh-backend-broken-answers.test.ts',
    'per-worker: each worker opens its own DoH connections to a backend (new/reused/died counts)',
  ],
  [
    'packages/proxy/test/e2e/lua-server-policy.test.ts',
    "per-worker: reads Lua globals a server policy sets, which live in the worker's Lua state (each worker runs the configuration in its own)",
  ],
  ['packages/proxy/test/e2e/cache-and-rings.test.ts', 'counter lag: cache hit/miss counters read right after the answers'],
  [
    'packages/proxy/test/e2e/cache-cleaning.test.ts',
    "sets backends down on the control plane's objects directly; counter lag: entry counts read right after the answers",
  ],
  [
    'packages/proxy/test/e2e/proxy-protocol-outgoing.test.ts',
    "per-worker: a client's TCP connections on two workers get two proxied backend connections, not one reused",
  ],
  [
    'packages/proxy/test/e2e/tcp-backend-xfr.test.ts',
    'per-worker: counts one backend connection reused after a transfer; the next query may land in the other worker',
  ],
]);

function testFiles(folder) {
  return readdirSync(join(ROOT, folder), { recursive: true })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(folder, f))
    .sort();
}

const stale = [...SINGLE_WORKER_ONLY.keys(), ...TWO_WORKER_FILES].filter((f) => !existsSync(join(ROOT, f)));
if (stale.length > 0) {
  console.error(`scripts/test-two-workers.mjs lists files that do not exist: ${stale.join(', ')}`);
  process.exit(2);
}
const files = [...TWO_WORKER_FOLDERS.flatMap(testFiles), ...TWO_WORKER_FILES].filter((f) => !SINGLE_WORKER_ONLY.has(f));
console.log(`two workers: ${files.length} files (${SINGLE_WORKER_ONLY.size} listed as one worker only, see docs/development.md)`);
const jest = join(ROOT, 'node_modules/jest/bin/jest.js');
const r = spawnSync(
  process.execPath,
  // Starting N workers (each loads the configuration in its own Lua state) takes longer than one event loop:
  // a longer default timeout for tests and hooks that name none.
  [
    '--experimental-vm-modules',
    '--disable-warning=ExperimentalWarning',
    jest,
    '--testTimeout=60000',
    ...process.argv.slice(2),
    '--runTestsByPath',
    ...files,
  ],
  { cwd: ROOT, stdio: 'inherit', env: { ...process.env, DNSDIST_TS_TEST_WORKERS: '2' } },
);
process.exit(r.status ?? 1);
