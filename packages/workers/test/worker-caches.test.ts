/**
 * WorkerCaches and WorkerCacheCopies, pure logic over real PacketCache
 * objects in one thread: the "workers" are copies answered through an
 * in-thread link (inThreadLink below, a stand-in for postMessage that
 * carries the request out at once), so the reply is set before the control
 * plane waits. The real threads are in test/e2e/workers-cache.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DNSName, QType } from '@dnsdist-ts/dns';
import { PacketCache } from '@dnsdist-ts/dataplane/cache/index.js';
import {
  configurationCaches,
  WorkerCacheCopies,
  WorkerCacheOperationError,
  WorkerCaches,
  type WorkerLink,
} from '@dnsdist-ts/workers/workers/worker-caches.js';
import { TestClock, a, query, response } from '../../proxy/test/cache/cache-fixtures.js';

/** Two workers' copies of two caches, and the control plane's handles on them. */
function setup(): {
  control: PacketCache[];
  copies: PacketCache[][];
  workers: WorkerCacheCopies[];
  wc: WorkerCaches;
  clock: TestClock;
  running: boolean[];
} {
  const clock = new TestClock();
  const make = (): PacketCache[] => [new PacketCache(100, { numberOfShards: 1 }, clock.now), new PacketCache(50, {}, clock.now)];
  const control = make();
  const copies = [make(), make()];
  const wc = new WorkerCaches(control, 2);
  const workers = copies.map((c, i) => new WorkerCacheCopies(c, wc.buffers, i, 2));
  const running = [true, true];
  const inThreadLink: WorkerLink = {
    count: 2,
    post: (index, request) => {
      if (!running[index]) return false;
      workers[index]!.handle(request);
      return true;
    },
  };
  wc.attach(inThreadLink);
  return { control, copies, workers, wc, clock, running };
}

function fill(pc: PacketCache, name: string, ttl = 300): void {
  const dq = query(name, 'A');
  const key = pc.computeKey(dq);
  pc.lookup(dq, key);
  pc.insert(dq, key, response(dq, { answers: [a(name, ttl)] }));
}

describe('WorkerCaches', () => {
  it('lists each pool’s cache once, in pool order', () => {
    const [x, y] = [new PacketCache(10), new PacketCache(10)];
    expect(configurationCaches([{ cache: y }, {}, { cache: x }, { cache: y }, { cache: 'not a packet cache' }])).toEqual([y, x]);
  });

  it('sums every copy’s counters into the control plane’s statistics; the entries are the fullest copy’s, of the configured maxEntries', () => {
    const { control, copies, wc } = setup();
    fill(copies[0]![0]!, 'a.example');
    fill(copies[0]![0]!, 'b.example');
    fill(copies[1]![0]!, 'a.example');
    copies[1]![0]!.lookup(query('a.example', 'A'), copies[1]![0]!.computeKey(query('a.example', 'A')));
    fill(copies[1]![1]!, 'other.example');
    // The counters and the entry counts live in the workers' rows: current at once, nothing to publish.
    // The copies share their entries (worker-cache-sharing.ts): one cache, counted once.
    expect(control[0]!.getStats()).toMatchObject({ hits: 1, misses: 3, entries: 2, maxEntries: 100 });
    expect(control[0]!.toString()).toBe('2/100');
    expect(control[0]!.printStats()).toMatch(/^Entries: 2\/100\nHits: 1\nMisses: 3\n/);
    expect(control[1]!.getStats()).toMatchObject({ hits: 0, misses: 1, entries: 1, maxEntries: 50 });
    expect(wc.workerStats(0)).toEqual([
      { hits: 0, misses: 2, entries: 2 },
      { hits: 1, misses: 1, entries: 1 },
    ]);
  });

  it('keeps a dead worker’s hits and misses in the totals, not its entries', () => {
    const { control, copies, wc } = setup();
    fill(copies[1]![0]!, 'a.example');
    wc.retire(1);
    expect(control[0]!.getStats()).toMatchObject({ misses: 1, entries: 0 });
  });

  it('expunges a name from every running copy and says what one cache lost (the most any copy removed)', () => {
    const { control, copies, running } = setup();
    for (const c of copies) {
      fill(c[0]!, 'gone.example');
      fill(c[0]!, 'kept.example');
    }
    const byName = control[0]!.replicas!.expungeByName(DNSName.fromString('GONE.example.'), QType.ANY, false);
    expect(byName).toBe(1);
    for (const c of copies) expect(c[0]!.getEntriesCount()).toBe(1);
    // Published at once: the control plane's count is already right.
    expect(control[0]!.getEntriesCount()).toBe(1);
    // A worker that is restarting is skipped (its successor starts empty).
    running[1] = false;
    expect(control[0]!.replicas!.expunge(0)).toBe(1);
    expect(copies[1]![0]!.getEntriesCount()).toBe(1);
  });

  it('purges expired entries in every copy', () => {
    const { control, copies, clock } = setup();
    for (const c of copies) {
      fill(c[0]!, 'short.example', 10);
      fill(c[0]!, 'long.example', 1000);
    }
    clock.advance(20);
    expect(control[0]!.replicas!.purgeExpired(0)).toBe(1);
    expect(control[0]!.getEntriesCount()).toBe(1);
  });

  it('dumps one copy after dnsdist’s header (the copies hold the same entries); a copy that is not running is passed over', () => {
    const { control, copies, running } = setup();
    fill(copies[0]![0]!, 'zero.example');
    fill(copies[1]![0]!, 'one.example');
    fill(copies[1]![0]!, 'two.example');
    const dir = mkdtempSync(join(tmpdir(), 'dts-wc-'));
    try {
      const file = join(dir, 'dump');
      expect(control[0]!.replicas!.dump(file)).toBe('Dumped 1 records\n');
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines.slice(0, 2)).toEqual(["; dnsdist's packet cache dump follows", ';']);
      expect(lines[2]).toMatch(/^zero\.example\. 300 A ; rcode 0, key \d+, length \d+, received over UDP 1, added \d+$/);
      expect(lines.slice(3)).toEqual(['']);
      expect(control[0]!.replicas!.dump(file)).toBe('Error opening dump file for writing: File exists\n');
      running[0] = false;
      const second = join(dir, 'second');
      expect(control[0]!.replicas!.dump(second)).toBe('Dumped 2 records\n');
      expect(
        readFileSync(second, 'utf8')
          .split('\n')
          .slice(2, 4)
          .map((l) => l.split(' ')[0])
          .sort(),
      ).toEqual(['one.example.', 'two.example.']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says which worker failed when one cannot carry an operation out; its statistics are left out', () => {
    const clock = new TestClock();
    const control = [new PacketCache(10, {}, clock.now)];
    const wc = new WorkerCaches(control, 2);
    // Worker 1's configuration made no cache: it publishes nothing and fails every operation.
    const workers = [
      new WorkerCacheCopies([new PacketCache(10, {}, clock.now)], wc.buffers, 0, 2),
      new WorkerCacheCopies([], wc.buffers, 1, 2),
    ];
    expect(workers.map((w) => w.matches)).toEqual([true, false]);
    wc.attach({ count: 2, post: (index, request) => (workers[index]!.handle(request), true) });
    expect(() => control[0]!.replicas!.expunge(0)).toThrow(
      new WorkerCacheOperationError('PacketCache:expunge', 1, 'could not carry it out on its copy of the cache (see the log)'),
    );
    expect(() => control[0]!.replicas!.expunge(0)).toThrow(/^PacketCache:expunge: data-plane worker 1 could not carry it out/);
  });
});
