/**
 * Packet caches with two data-plane workers: one cache, as dnsdist's. Each
 * worker answers from its own copy and the copies take each other's
 * inserts, so a name one worker fetched is a hit in the other; the control
 * plane's statistics (printStats, getStats, toString, showPools,
 * dumpStats, the API and /metrics) sum the workers' hits and misses and
 * count the entries once, and the console's cache methods act on every
 * copy. Queries come from many source ports, so the kernel spreads them
 * over both workers' SO_REUSEPORT sockets; each worker's own statistics
 * (WorkerCaches.workerStats) tell which answered. The workers run the
 * built code (dist/): `make` first.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { requireBuiltCli } from '../cli/cli-process.js';
import { tcpQuery, udpQuery, waitFor } from '../support/dns-client.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

const CONFIG = `
newServer{address="127.0.0.1:\${BACKEND}"}
setLocal("127.0.0.1:\${PORT}")
pc = newPacketCache(1000)
getPool(""):setCache(pc)
webserver("127.0.0.1:\${WEB}")
setWebserverConfig({apiKey="test-key", acl="127.0.0.0/8"})
`;

function field(text: string, name: string): number {
  const m = new RegExp(`^${name}:? +(\\d+)`, 'm').exec(text);
  if (!m) throw new Error(`${name} not in:\n${text}`);
  return Number(m[1]);
}

describe('packet caches with two data-plane workers', () => {
  let backend: TestBackend;
  let proxy: RunningProxy;
  let web: number;
  /** Queries the backend got, by name: a cache miss in some worker each. */
  const asked = new Map<string, number>();

  beforeAll(async () => {
    requireBuiltCli();
    backend = await startUdpTcpBackend((q) => {
      const query = dnsPacket.decode(q);
      const name = query.questions![0]!.name;
      asked.set(name, (asked.get(name) ?? 0) + 1);
      return answerWithA(query, '192.0.2.7');
    });
    web = await freePort();
    proxy = await startProxy(CONFIG, { BACKEND: backend.port, WEB: web }, { workers: 2 });
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  const run = (cmd: string): string => proxy.app.runConsoleCommand(cmd);
  const stats = (): string => run('getPool(""):getCache():printStats()');
  /** Query `name` from a new socket (source port) each time, one after the other. */
  async function ask(name: string, times: number): Promise<void> {
    for (let i = 0; i < times; i++) expect((await udpQuery(proxy.port, name))?.answers?.[0]?.data).toBe('192.0.2.7');
  }

  const perWorker = () => proxy.app.workers!.caches.workerStats(0);
  /** Both workers' copies hold `n` entries (each takes the other's entries within 100 ms; its count is live). */
  const bothHold = (n: number) => waitFor(`both workers' copies to hold ${n} entries`, () => perWorker().every((w) => w?.entries === n));

  it('a name one worker fetched is a cache hit in the other worker: the backend is asked once', async () => {
    await ask('shared.example', 1);
    expect(asked.get('shared.example')).toBe(1);
    // At once, 16 sockets: the kernel sends some to each worker. The worker that missed stored the answer before
    // sending it, and the other worker's copy takes it before it would forward the query: each answers from its copy.
    await ask('shared.example', 16);
    expect(asked.get('shared.example')).toBe(1);
    await bothHold(1);
    await waitFor('both workers to count their hits', () => perWorker().every((w) => w !== undefined && w.hits > 0));
    await waitFor('every hit to be published', () => perWorker().reduce((n, w) => n + w!.hits, 0) === 16);
    expect(perWorker().reduce((n, w) => n + w!.misses, 0)).toBe(1);
  });

  it('an answer one worker fetched over TCP is a hit for TCP connections the other worker takes', async () => {
    expect((await tcpQuery(proxy.port, 'tcp.example')).answers?.[0]?.data).toBe('192.0.2.7');
    // A new connection (source port) each time: the kernel gives some to each worker.
    for (let i = 0; i < 12; i++) expect((await tcpQuery(proxy.port, 'tcp.example')).answers?.[0]?.data).toBe('192.0.2.7');
    expect(asked.get('tcp.example')).toBe(1);
    await bothHold(2);
    await waitFor('every hit to be published', () => perWorker().reduce((n, w) => n + w!.hits, 0) === 16 + 12);
    expect(perWorker().every((w) => w!.hits > 0)).toBe(true);
    expect(run('pc:expungeByName("tcp.example.")')).toBe('Expunged 1 records\n');
  });

  it('sums every worker’s hits and misses and counts the entries once in printStats, getStats, toString, showPools, dumpStats, the API and /metrics', async () => {
    // 20 names, each asked once (a miss in one worker), then 7 more times each from 7 sockets: hits in both workers.
    for (let i = 0; i < 20; i++) await ask(`c${i}.example`, 1);
    await bothHold(21);
    await Promise.all(Array.from({ length: 20 }, (_, i) => ask(`c${i}.example`, 7)));
    // With the two tests before: 17 queries (1 miss) for shared.example, 13 over TCP (1 miss, expunged since).
    const sent = 17 + 13 + 160;
    const misses = 22;
    await waitFor('the summed statistics to count every query', () => {
      const s = stats();
      return field(s, 'Hits') + field(s, 'Misses') === sent;
    });
    const text = stats();
    // (The backend also gets the health checks.)
    const backendQueries = [...asked].filter(([name]) => /^c\d+\.example$/.test(name)).reduce((a, [, n]) => a + n, 0);
    expect(backendQueries).toBe(20);
    expect(field(text, 'Misses')).toBe(misses);
    expect(text).toMatch(/^Entries: 21\/1000$/m);
    expect(run('getPool(""):getCache():toString()')).toBe('21/1000\n');
    expect(run('getPool(""):getCache():getEntriesCount()')).toBe('21\n');
    expect(run('getPool(""):getCache():getStats()["hits"]')).toBe(`${sent - misses}\n`);
    expect(run('showPools()')).toMatch(/^ +21\/1000 +leastOutstanding /m);
    // The global counters are copied from each worker's row every 100 ms: hits and misses may arrive in different copies.
    await waitFor('dumpStats to count every query', () => {
      const d = run('dumpStats()').replace(/\t/g, ' ');
      return field(d, 'cache-misses') === misses && field(d, 'cache-hits') === sent - misses;
    });
    const headers = { 'X-API-Key': 'test-key' };
    const metrics = await (await fetch(`http://127.0.0.1:${web}/metrics`, { headers })).text();
    expect(metrics).toMatch(new RegExp(`^dnsdist_pool_cache_hits\\{pool="_default_"\\} ${sent - misses}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^dnsdist_pool_cache_misses\\{pool="_default_"\\} ${misses}$`, 'm'));
    expect(metrics).toMatch(/^dnsdist_pool_cache_entries\{pool="_default_"\} 21$/m);
    const api = (await (await fetch(`http://127.0.0.1:${web}/api/v1/servers/localhost`, { headers })).json()) as {
      pools: Array<{ name: string; cacheHits: number; cacheMisses: number; cacheEntries: number }>;
    };
    expect(api.pools.find((p) => p.name === '')).toMatchObject({ cacheHits: sent - misses, cacheMisses: misses, cacheEntries: 21 });
  });

  it('expungeByName removes the name from every worker’s copy: the next query misses, and its answer is a hit in both again', async () => {
    await ask('gone.example', 1);
    await bothHold(22);
    expect(run('getPool(""):getCache():expungeByName("gone.example.")')).toBe('Expunged 1 records\n');
    expect(run('pc:expungeByName(newDNSName("gone.example."))')).toBe('Expunged 0 records\n');
    // Each worker's count is live: already down as the console returns.
    expect(perWorker().map((w) => w?.entries)).toEqual([21, 21]);
    // Had a copy kept it, that worker would answer from it: the first query after the expunge reaches the backend.
    await ask('gone.example', 1);
    expect(asked.get('gone.example')).toBe(2);
    await bothHold(22);
    await ask('gone.example', 8);
    expect(asked.get('gone.example')).toBe(2);
  });

  it('dump writes the cache’s entries once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dts-wcache-'));
    try {
      const file = join(dir, 'dump');
      expect(run(`pc:dump("${file}")`)).toBe('Dumped 22 records\n');
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines.slice(0, 2)).toEqual(["; dnsdist's packet cache dump follows", ';']);
      expect(lines.filter((l) => /^gone\.example\. \d+ A ; rcode 0,/.test(l))).toHaveLength(1);
      expect(lines.filter((l) => l !== '' && !l.startsWith(';'))).toHaveLength(22);
      // dnsdist's refusal to overwrite a file, once.
      expect(run(`pc:dump("${file}")`)).toBe('Error opening dump file for writing: File exists\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('purgeExpired keeps fresh entries; expunge empties every copy', () => {
    const entries = Number(run('pc:getEntriesCount()'));
    expect(entries).toBeGreaterThan(0);
    expect(run('pc:purgeExpired(0)')).toBe('');
    expect(run('pc:getEntriesCount()')).toBe(`${entries}\n`);
    expect(run('getPool(""):getCache():expunge()')).toBe('');
    expect(run('pc:toString()')).toBe('0/1000\n');
    expect(perWorker().map((w) => w?.entries)).toEqual([0, 0]);
  });
});
