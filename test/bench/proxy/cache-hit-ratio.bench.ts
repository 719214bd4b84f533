/**
 * Packet-cache hit ratio with data-plane workers: the workers' cache
 * (dnsdist-ts `--workers N`: one copy per worker, sharing their entries,
 * workers/worker-cache-sharing.ts) against one cache in one thread that
 * sees every query (`--workers 1`, the same queries in the same order), on
 * the proxy benchmark's `cache` row workload or a long-tail one. Prints
 * hits, misses (= queries the backend got) and the hit ratio, read from the
 * control plane's summed statistics (the API's pool entry) after the load.
 *
 *   pnpm exec tsx test/bench/proxy/cache-hit-ratio.bench.ts [--workers 1,2] [--seconds 8]
 *     [--workload bench|zipf] [--names 100000] [--skew 1.0] [--lines 200000] [--passes 2]
 *
 * `bench` (default) is proxy.bench.ts's: 200 names, each once in the query
 * file, which dnsperf sends in order and repeats (uniform popularity), 20
 * clients (source ports) at up to 300 outstanding, a 1 s warm-up then the
 * run, newPacketCache(10000), answers with TTL 300 (no entry expires). `zipf`
 * writes `--lines` queries drawn from `--names` names with popularity
 * ∝ 1/rank^skew, in random order, and sends the file `--passes` times
 * (the same queries for every worker count, however fast it answers): the
 * long tail where a name is asked a few times (with a copy per worker and
 * nothing shared, each worker would miss it once).
 *
 * Everything listens on 127.0.0.1 (ports 45310-45312); every process is
 * bounded in time and killed at the end.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const tmp = join(root, '.bench-tmp', 'cache-hit-ratio');
mkdirSync(tmp, { recursive: true });

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
const SECONDS = Number(opt('seconds', '8'));
const WORKLOAD = opt('workload', 'bench');
const NAMES = Number(opt('names', '100000'));
const SKEW = Number(opt('skew', '1.0'));
const LINES = Number(opt('lines', '200000'));
const PASSES = Number(opt('passes', '2'));
const WORKERS = opt('workers', '1,2')
  .split(',')
  .map((w) => {
    const n = Number(w);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--workers: '${w}' is not a positive integer`);
    return n;
  });
if (WORKLOAD !== 'bench' && WORKLOAD !== 'zipf') throw new Error(`--workload: 'bench' or 'zipf', got '${WORKLOAD}'`);

const PROXY_PORT = 45310;
const BACKEND_PORT = 45311;
const WEB_PORT = 45312;
const API_KEY = 'hit-ratio';

const CONFIG = `setLocal("127.0.0.1:${PROXY_PORT}")
setACL({"127.0.0.0/8"})
newServer{address="127.0.0.1:${BACKEND_PORT}", checkName="bench.test."}
pc = newPacketCache(${WORKLOAD === 'bench' ? 10000 : Math.max(10000, NAMES)})
getPool(""):setCache(pc)
webserver("127.0.0.1:${WEB_PORT}")
setWebserverConfig({apiKey="${API_KEY}", acl="127.0.0.0/8"})
`;

/** A small deterministic generator (mulberry32), so every run draws the same queries. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function queryFile(): string {
  const f = join(tmp, `${WORKLOAD}.txt`);
  if (WORKLOAD === 'bench') {
    writeFileSync(f, Array.from({ length: 200 }, (_, i) => `name${i}.bench.test A`).join('\n') + '\n');
    return f;
  }
  // Zipf by inverse CDF over the cumulative weights.
  const cumulative = new Float64Array(NAMES);
  let total = 0;
  for (let i = 0; i < NAMES; i++) cumulative[i] = total += 1 / Math.pow(i + 1, SKEW);
  const rnd = random(42);
  const lines: string[] = [];
  for (let l = 0; l < LINES; l++) {
    const x = rnd() * total;
    let lo = 0;
    let hi = NAMES - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    lines.push(`name${lo}.bench.test A`);
  }
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

function dnsperf(names: string, extra: string[]): string {
  const r = spawnSync('dnsperf', ['-s', '127.0.0.1', '-p', String(PROXY_PORT), '-d', names, '-m', 'udp', '-T', '1', ...extra], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: (SECONDS + 60) * 1000,
  });
  return r.stdout;
}

async function waitForWeb(child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dnsdist-ts exited (${child.exitCode})`);
    try {
      if ((await fetch(`http://127.0.0.1:${WEB_PORT}/api/v1/servers/localhost`, { headers: { 'X-API-Key': API_KEY } })).ok) return;
    } catch {
      // not listening yet: the webserver starts last, after every worker listens
    }
    if (Date.now() > deadline) throw new Error('dnsdist-ts: its webserver did not answer within 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface PoolStats {
  name: string;
  cacheHits: number;
  cacheMisses: number;
  cacheEntries: number;
}

async function poolStats(): Promise<PoolStats> {
  const res = await fetch(`http://127.0.0.1:${WEB_PORT}/api/v1/servers/localhost`, { headers: { 'X-API-Key': API_KEY } });
  const body = (await res.json()) as { pools: PoolStats[] };
  return body.pools.find((p) => p.name === '')!;
}

async function measure(names: string, workers: number): Promise<{ sent: number; stats: PoolStats }> {
  const conf = join(tmp, 'dnsdist.conf');
  writeFileSync(conf, CONFIG);
  const child = spawn(join(root, 'bin/dnsdist-ts'), ['--supervised', ...(workers > 1 ? ['--workers', String(workers)] : []), '-C', conf], {
    stdio: 'ignore',
  });
  try {
    await waitForWeb(child);
    // As proxy.bench.ts's cache row: a warm-up, then the run; the cache sees both.
    const completed = (out: string): number => Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? 0);
    let sent: number;
    if (WORKLOAD === 'bench') {
      sent = completed(dnsperf(names, ['-l', '1', '-c', '20', '-q', '300']));
      sent += completed(dnsperf(names, ['-l', String(SECONDS), '-c', '20', '-q', '300']));
    } else {
      sent = completed(dnsperf(names, ['-n', String(PASSES), '-c', '20', '-q', '300']));
    }
    // The workers publish every 100 ms: wait until the totals count every answered query.
    const deadline = Date.now() + 5000;
    let stats = await poolStats();
    while (stats.cacheHits + stats.cacheMisses < sent && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      stats = await poolStats();
    }
    return { sent, stats };
  } finally {
    if (child.exitCode === null) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await done;
      clearTimeout(t);
    }
  }
}

async function main(): Promise<void> {
  const bin = join(tmp, 'fast-backend');
  execFileSync('cc', ['-O2', '-o', bin, join(here, 'fast-backend.c'), '-lpthread']);
  const backend = spawn(bin, [String(BACKEND_PORT)], { stdio: 'ignore' });
  const names = queryFile();
  const shape =
    WORKLOAD === 'bench'
      ? `200 names, uniform; ${SECONDS}s after a 1 s warm-up`
      : `${NAMES} names, Zipf s=${SKEW}, ${LINES} queries in the file sent ${PASSES} times`;
  console.log(`# packet-cache hit ratio: ${shape}; load ${readLoad()}`);
  console.log('| workers | caches | queries answered | hits | misses (backend queries) | entries | hit ratio |');
  console.log('|---:|---|---:|---:|---:|---:|---:|');
  try {
    for (const workers of WORKERS) {
      const { sent, stats } = await measure(names, workers);
      const ratio = stats.cacheHits / Math.max(1, stats.cacheHits + stats.cacheMisses);
      console.log(
        `| ${workers} | ${workers === 1 ? 'one, one thread' : `shared by ${workers} workers`} | ${sent} | ${stats.cacheHits} | ${stats.cacheMisses} | ${stats.cacheEntries} | ${(ratio * 100).toFixed(3)} % |`,
      );
    }
  } finally {
    backend.kill('SIGKILL');
  }
}

function readLoad(): string {
  return execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');
}

await main();
