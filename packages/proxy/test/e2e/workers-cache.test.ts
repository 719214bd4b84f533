/**
 * Packet caches with two data-plane workers: each worker holds its own
 * copy of the pool's cache; the control plane's statistics (printStats,
 * getStats, toString, showPools, dumpStats, the API, /metrics) are the
 * copies' summed, and the console's cache methods act on every copy.
 * Queries come from many source ports, so the kernel spreads them over
 * both workers' SO_REUSEPORT sockets. The workers run the built code
 * (dist/): `make` first.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { requireBuiltCli } from '../cli/cli-process.js';
import { udpQuery, waitFor } from '../support/dns-client.js';
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

  it('sums every worker’s hits, misses and entries in printStats, getStats, toString, showPools, dumpStats, the API and /metrics', async () => {
    // 20 names, 8 queries each from 8 sockets: both workers see most names, each missing once per name it sees.
    await Promise.all(Array.from({ length: 20 }, (_, i) => ask(`c${i}.example`, 8)));
    const sent = 160;
    await waitFor('both workers to answer', () => proxy.app.workers!.status().every((w) => w.queries > 0));
    await waitFor('the summed statistics to count every query', () => {
      const s = stats();
      return field(s, 'Hits') + field(s, 'Misses') === sent;
    });
    const text = stats();
    const misses = field(text, 'Misses');
    // (The backend also gets the health checks.)
    const backendQueries = [...asked].filter(([name]) => /^c\d+\.example$/.test(name)).reduce((a, [, n]) => a + n, 0);
    // Every miss went to the backend and was stored in the worker that missed.
    expect(misses).toBe(backendQueries);
    expect(misses).toBeGreaterThan(20); // more than one copy: names missed in both workers
    expect(misses).toBeLessThanOrEqual(40);
    expect(text).toMatch(new RegExp(`^Entries: ${misses}/2000$`, 'm'));
    expect(run('getPool(""):getCache():toString()')).toBe(`${misses}/2000\n`);
    expect(run('getPool(""):getCache():getEntriesCount()')).toBe(`${misses}\n`);
    expect(run('getPool(""):getCache():getStats()["hits"]')).toBe(`${sent - misses}\n`);
    expect(run('showPools()')).toMatch(new RegExp(`^ +${misses}/2000 +leastOutstanding `, 'm'));
    // The global counters agree.
    // The global counters are copied from each worker's row every 100 ms: hits and misses may arrive in different copies.
    await waitFor('dumpStats to count every query', () => {
      const d = run('dumpStats()').replace(/\t/g, ' ');
      return field(d, 'cache-misses') === misses && field(d, 'cache-hits') === sent - misses;
    });
    const headers = { 'X-API-Key': 'test-key' };
    const metrics = await (await fetch(`http://127.0.0.1:${web}/metrics`, { headers })).text();
    expect(metrics).toMatch(new RegExp(`^dnsdist_pool_cache_hits\\{pool="_default_"\\} ${sent - misses}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^dnsdist_pool_cache_misses\\{pool="_default_"\\} ${misses}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^dnsdist_pool_cache_entries\\{pool="_default_"\\} ${misses}$`, 'm'));
    const api = (await (await fetch(`http://127.0.0.1:${web}/api/v1/servers/localhost`, { headers })).json()) as {
      pools: Array<{ name: string; cacheHits: number; cacheMisses: number; cacheEntries: number }>;
    };
    expect(api.pools.find((p) => p.name === '')).toMatchObject({ cacheHits: sent - misses, cacheMisses: misses, cacheEntries: misses });
  });

  it('expungeByName removes the name from every worker’s copy: each worker misses it again', async () => {
    // One query at a time: each worker misses the name once, so two backend queries mean both workers hold it.
    await ask('gone.example', 1);
    for (let i = 0; asked.get('gone.example') !== 2; i++) {
      if (i > 200) throw new Error('the kernel never sent gone.example to the second worker');
      await ask('gone.example', 1);
    }
    expect(run('getPool(""):getCache():expungeByName("gone.example.")')).toBe('Expunged 2 records\n');
    expect(run('pc:expungeByName(newDNSName("gone.example."))')).toBe('Expunged 0 records\n');
    // Had a copy kept it, that worker would answer from it and the backend would never see a fourth query.
    for (let i = 0; asked.get('gone.example') !== 4; i++) {
      if (i > 200) throw new Error(`only ${asked.get('gone.example')! - 2} worker(s) missed gone.example after expungeByName`);
      await ask('gone.example', 1);
    }
  });

  it('dump writes every copy’s entries into one file, each after a comment naming its worker', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dts-wcache-'));
    try {
      const file = join(dir, 'dump');
      const dumped = /^Dumped (\d+) records\n$/.exec(run(`pc:dump("${file}")`));
      expect(dumped).not.toBeNull();
      const entries = Number(dumped![1]);
      // Each worker published its count as it dumped.
      expect(run('pc:getEntriesCount()')).toBe(`${entries}\n`);
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines.slice(0, 2)).toEqual(["; dnsdist's packet cache dump follows", ';']);
      expect(lines).toContain('; data-plane worker 0');
      expect(lines).toContain('; data-plane worker 1');
      expect(lines.filter((l) => /^gone\.example\. \d+ A ; rcode 0,/.test(l))).toHaveLength(2);
      expect(lines.filter((l) => l !== '' && !l.startsWith(';'))).toHaveLength(entries);
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
    expect(run('pc:toString()')).toBe('0/2000\n');
  });
});
