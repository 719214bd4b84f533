/**
 * The end-to-end suite's worker switch: DNSDIST_TS_TEST_WORKERS=N makes every
 * proxy the tests start (in-process through startProxy, or the CLI through
 * startCli) answer queries in N data-plane workers, so that one suite checks
 * that dnsdist's behaviour does not depend on the worker count. Unset: one
 * event loop, as before. A test that asks for a count itself keeps it.
 */

/** The variable that selects the worker count of the proxies the tests start. */
export const TEST_WORKERS_VARIABLE = 'DNSDIST_TS_TEST_WORKERS';

/** The worker count the switch asks for, or undefined when it is unset (a bad value is an error, never ignored). */
export function testWorkerCount(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[TEST_WORKERS_VARIABLE];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1) throw new Error(`${TEST_WORKERS_VARIABLE}=${raw}: expected a worker count, an integer >= 1`);
  return n;
}

/** CLI flags after which the process is no server (a console client, a configuration check…): no --workers for them. */
const NOT_A_SERVER = new Set(['-c', '--client', '--check-config', '-h', '--help', '-V', '--version', '-e', '--execute']);

/** The CLI arguments with `--workers N` added when the switch is set and the arguments start a server without a count. */
export function withTestWorkers(args: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const n = testWorkerCount(env);
  if (n === undefined || args.some((a) => a === '--workers' || a.startsWith('--workers=') || NOT_A_SERVER.has(a))) return [...args];
  return [...args, '--workers', String(n)];
}

/**
 * Why a test runs with one worker whatever DNSDIST_TS_TEST_WORKERS says: the
 * one explicit list (docs/development.md, "The suite with two workers", has
 * the table by file). Whole files that need one worker are listed in
 * scripts/test-two-workers.mjs instead.
 */
export const ONE_WORKER_REASONS = {
  /** The test is about Node's dgram UDP implementation (--udp-io dgram), which has no SO_REUSEPORT for a second worker's socket. */
  'dgram-udp': "Node's dgram (--udp-io dgram) cannot open a listener's socket twice (no SO_REUSEPORT), so it runs one worker",
  /** Behaviour that differs with workers today (docs/architecture.md): the test asserts dnsdist's one-process figure. */
  'counter-lag':
    "the control plane sums some counters (the packet caches') every 100 ms, and the test compares them right after its traffic",
  'control-plane-object':
    "the test changes the control plane's objects directly from TypeScript (not through Lua or the console), which the workers' copies do not see",
  'per-worker-connections': 'each worker opens its own TCP/DoT/DoH connections to a backend: new/reused connection counts are per worker',
  'per-worker-endpoint': "the test reads a backend socket's counters (sendErrors…) that only the workers' copies move",
  /** The test looks at which I/O a listener of this thread uses; with workers the listening ones are theirs. */
  'listener-io':
    "the test asks the proxy's own TCP listener which I/O it runs on, and with workers the listeners that take connections are the workers'",
} as const;

export type OneWorkerReason = keyof typeof ONE_WORKER_REASONS;

/** startProxy's options for a test that needs one worker, for the reason given. */
export function oneWorker(reason: OneWorkerReason): { workers: 1 } {
  void ONE_WORKER_REASONS[reason];
  return { workers: 1 };
}
