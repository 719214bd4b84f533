/**
 * Stale cache entries, cache cleaning and the cache's counters with two
 * data-plane workers, as dnsdist's regression tests TestCachingStale,
 * TestCachingStaleExpunged and TestCachingStaleExpungePrevented see them:
 * one cache, whichever worker the kernel hands a query to. Queries come
 * from a new source port each time, so the kernel spreads them over both
 * workers' SO_REUSEPORT sockets. The workers run the built code (dist/):
 * `make` first.
 */
import * as dnsPacket from 'dns-packet';
import { requireBuiltCli } from '../cli/cli-process.js';
import { udpQuery, waitFor } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { startUdpBackend, type TestBackend } from '../support/test-backends.js';

/** The backend's answer: 192.0.2.9 with TTL 0 for names starting with "zero", 300 for "long", 2 otherwise; counts what it was asked. */
function startCountingBackend(asked: Map<string, number>): Promise<TestBackend> {
  return startUdpBackend((q) => {
    const query = dnsPacket.decode(q);
    const name = query.questions![0]!.name;
    asked.set(name, (asked.get(name) ?? 0) + 1);
    const ttl = name.startsWith('zero') ? 0 : name.startsWith('long') ? 300 : 2;
    return dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: (query.flags ?? 0) | dnsPacket.RECURSION_AVAILABLE,
      questions: query.questions,
      answers: [{ type: 'A', name, ttl, data: '192.0.2.9' }],
    } as dnsPacket.Packet);
  });
}

/** `times` queries for `name`, each from a new socket, all at once: their answers (undefined: dropped). */
function askFromManyPorts(port: number, name: string, times: number): Promise<Array<Awaited<ReturnType<typeof udpQuery>>>> {
  return Promise.all(Array.from({ length: times }, () => udpQuery(port, name, { timeoutMs: 1500 })));
}

describe('cache cleaning and counters with two data-plane workers (TestCachingStaleExpunged, TestCachingStaleExpungePrevented)', () => {
  // Pool "": its backend goes down, its cache keeps stale data. Pool "purged": its backend goes down, its cache
  // does not keep stale data. Pool "up": its backend stays up. Cleaning every second, of every expired entry.
  const CONFIG = `
newServer{address="127.0.0.1:\${BACKEND}"}
newServer{address="127.0.0.1:\${BACKEND}", pool="purged"}
newServer{address="127.0.0.1:\${BACKEND}", pool="up"}
setLocal("127.0.0.1:\${PORT}")
setStaleCacheEntriesTTL(600)
setCacheCleaningPercentage(100)
setCacheCleaningDelay(1)
keep = newPacketCache(100, {maxTTL=86400, minTTL=1, temporaryFailureTTL=0, staleTTL=60, keepStaleData=true})
getPool(""):setCache(keep)
purged = newPacketCache(100, {maxTTL=86400, minTTL=1, temporaryFailureTTL=0, staleTTL=60})
getPool("purged"):setCache(purged)
up = newPacketCache(100, {minTTL=1})
getPool("up"):setCache(up)
addAction(makeRule("purged.example."), PoolAction("purged"))
addAction(makeRule("up.example."), PoolAction("up"))
`;
  let backend: TestBackend;
  let proxy: RunningProxy;
  const asked = new Map<string, number>();

  beforeAll(async () => {
    requireBuiltCli();
    backend = await startCountingBackend(asked);
    proxy = await startProxy(CONFIG, { BACKEND: backend.port }, { workers: 2 });
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  const run = (cmd: string): string => proxy.app.runConsoleCommand(cmd);
  const stat = (pool: string, key: string): number => Number(run(`getPool("${pool}"):getCache():getStats()["${key}"]`));
  /** Each worker's copy of the cache of `pool`, as it counts it. */
  const perWorker = (pool: string) => {
    const workers = proxy.app.workers!.caches;
    return workers.workerStats(workers.caches.indexOf(proxy.app.proxy.pools.get(pool)!.cache as never));
  };

  it('counts an answer’s entry, hit and miss in getStats() as soon as the client has the answer', async () => {
    // The regression tests read the counters right after each query: no copy may lag the query it answered.
    for (let i = 1; i <= 5; i++) {
      const name = `n${i}.up.example`;
      expect((await udpQuery(proxy.port, name))?.answers?.[0]?.data).toBe('192.0.2.9');
      expect(stat('up', 'misses')).toBe(i);
      expect(stat('up', 'entries')).toBe(i);
      expect(run('getPool("up"):getCache():getEntriesCount()')).toBe(`${i}\n`);
      expect(run('up:toString()')).toBe(`${i}/100\n`);
      expect((await udpQuery(proxy.port, name))?.answers?.[0]?.data).toBe('192.0.2.9');
      expect(stat('up', 'hits')).toBe(i);
    }
  });

  it('removes expired entries from every copy while the pool has no backend up, unless the cache keeps stale data', async () => {
    for (const name of ['kept.example', 'gone.purged.example']) {
      expect((await udpQuery(proxy.port, name))?.answers?.[0]?.data).toBe('192.0.2.9');
    }
    expect(stat('', 'entries')).toBe(1);
    expect(stat('purged', 'entries')).toBe(1);
    // Both copies hold both entries before they expire (each worker takes the other's inserts within 100 ms).
    await waitFor('both copies to hold the entries', () => [...perWorker(''), ...perWorker('purged')].every((w) => w?.entries === 1));
    run('getServer(0):setDown()');
    run('getServer(1):setDown()');
    // The expired entry leaves both copies of "purged" (a cleaning pass ran in each worker, over every cache).
    await waitFor('the cleaning to empty both copies of the purged cache', () => perWorker('purged').every((w) => w?.entries === 0), 8000);
    expect(stat('purged', 'entries')).toBe(0);
    // "": kept in both copies, served stale (TTL = staleTTL) by either worker.
    expect(perWorker('').map((w) => w?.entries)).toEqual([1, 1]);
    expect(stat('', 'entries')).toBe(1);
    const kept = await askFromManyPorts(proxy.port, 'kept.example', 8);
    expect(kept.map((a) => a?.answers?.[0]?.ttl)).toEqual(Array(8).fill(60));
    expect(asked.get('kept.example')).toBe(1);
    expect(stat('', 'hits')).toBe(8);
    // "purged": nothing left anywhere, no backend: every query is dropped, and counted a miss.
    const gone = await askFromManyPorts(proxy.port, 'gone.purged.example', 8);
    expect(gone).toEqual(Array(8).fill(undefined));
    expect(asked.get('gone.purged.example')).toBe(1);
    expect(stat('purged', 'misses')).toBe(1 + 8);
    expect(stat('purged', 'hits')).toBe(0);
  }, 20_000);
});

describe('stale entries with two data-plane workers (TestCachingStale)', () => {
  const CONFIG = `
newServer{address="127.0.0.1:\${BACKEND}"}
setLocal("127.0.0.1:\${PORT}")
setStaleCacheEntriesTTL(600)
pc = newPacketCache(100, {maxTTL=86400, minTTL=0, temporaryFailureTTL=0, staleTTL=60})
getPool(""):setCache(pc)
`;
  let backend: TestBackend;
  let proxy: RunningProxy;
  const asked = new Map<string, number>();

  beforeAll(async () => {
    requireBuiltCli();
    backend = await startCountingBackend(asked);
    proxy = await startProxy(CONFIG, { BACKEND: backend.port }, { workers: 2 });
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  it('a worker that starts after the other stored entries (restartWorker) answers them from its copy: the backend is asked once', async () => {
    // The workers start one after the other and each answers as soon as it listens: the harness's first query may
    // be stored by the first before the second starts, and the kernel may hand the next one to the second.
    const names = Array.from({ length: 6 }, (_, i) => `long${i}.example`);
    for (const name of names) expect((await udpQuery(proxy.port, name))?.answers?.[0]?.data).toBe('192.0.2.9');
    const pool = proxy.app.workers!;
    const oldThread = pool.status()[1]!.threadId;
    expect(proxy.app.runConsoleCommand('restartWorker(1)')).toBe('');
    await waitFor('the restart', () => pool.status()[1]!.state === 'running' && pool.status()[1]!.threadId !== oldThread, 15_000);
    for (const name of names) {
      expect((await askFromManyPorts(proxy.port, name, 8)).map((a) => a?.answers?.[0]?.data)).toEqual(Array(8).fill('192.0.2.9'));
      expect(asked.get(name)).toBe(1);
    }
  }, 30_000);

  it('serves an entry stored already expired (TTL 0) stale from every worker once the pool has no backend up', async () => {
    // Stored by the worker that asked the backend, expired at once: the other worker's copy must hold it as well,
    // since dnsdist's one cache serves it stale to any thread until the cleaning removes it.
    const entries = Number(proxy.app.runConsoleCommand('pc:getEntriesCount()'));
    expect((await udpQuery(proxy.port, 'zero.example'))?.answers?.[0]?.ttl).toBe(0);
    expect(Number(proxy.app.runConsoleCommand('pc:getEntriesCount()'))).toBe(entries + 1);
    proxy.app.runConsoleCommand('getServer(0):setDown()');
    const answers = await askFromManyPorts(proxy.port, 'zero.example', 8);
    expect(answers.map((a) => a?.answers?.[0]?.ttl)).toEqual(Array(8).fill(60));
    expect(asked.get('zero.example')).toBe(1);
  });
});
