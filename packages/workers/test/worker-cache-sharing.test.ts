/**
 * WorkerCacheSharing over real PacketCache objects and real shared
 * memory, in one thread: "worker A" (ring 0) and "worker B" (ring 1) are
 * two copies of one cache, each with its sharing end. Between real
 * threads: test/e2e/workers-cache.test.ts.
 */
import { PacketCache } from '@dnsdist-ts/dataplane/cache/index.js';
import { RING_BYTES, sharingBuffers, startOfLap, WorkerCacheSharing } from '@dnsdist-ts/workers/workers/worker-cache-sharing.js';
import { TestClock, a, query, response, ttls, type QueryOptions } from '../../proxy/test/cache/cache-fixtures.js';

const ecs = (address: number[], bits: number): { code: number; data: Buffer } => ({
  code: 8,
  data: Buffer.from([0, 1, bits, 0, ...address]),
});

/** Worker A's and worker B's copies of one cache. */
function setup(size = 100, options: Record<string, unknown> = {}) {
  const clock = new TestClock();
  const shared = sharingBuffers(2, 1);
  const copyA = new PacketCache(size, options, clock.now);
  const copyB = new PacketCache(size, options, clock.now);
  const sharingA = new WorkerCacheSharing([copyA], shared, 0, 2);
  const sharingB = new WorkerCacheSharing([copyB], shared, 1, 2);
  const store = (pc: PacketCache, name: string, opts: QueryOptions = {}, ttl = 300, records = 1): boolean => {
    const dq = query(name, 'A', opts);
    const answers = Array.from({ length: records }, (_, i) => a(name, ttl, `192.0.2.${(i % 250) + 1}`));
    return pc.insert(dq, pc.computeKey(dq), response(dq, { answers }));
  };
  const lookup = (pc: PacketCache, name: string, opts: QueryOptions = {}): Buffer | undefined => {
    const dq = query(name, 'A', { id: 0x4242, ...opts });
    return pc.lookup(dq, pc.computeKey(dq));
  };
  const names = (pc: PacketCache): string[] => [...pc.dumpLines()].map((l) => l.split(' ')[0]!).sort();
  return { clock, shared, copyA, copyB, sharingA, sharingB, store, lookup, names };
}

describe('WorkerCacheSharing', () => {
  it('a lookup that would miss takes what the other copy stored, and answers as that copy would', () => {
    const { clock, copyA, copyB, sharingB, store, lookup } = setup(100, { parseECS: true });
    const cases: Array<[string, QueryOptions]> = [
      ['plain.example', {}],
      ['secure.example', { ednsDo: true }],
      ['tcp.example', { transport: 'tcp' }],
      ['ecs.example', { options: [ecs([192, 0, 2], 24)] }],
    ];
    for (const [name, opts] of cases) expect(store(copyA, name, opts)).toBe(true);
    clock.advance(100);
    for (const [name, opts] of cases) {
      const fromB = lookup(copyB, name, opts);
      expect(fromB).toBeDefined();
      expect(fromB).toEqual(lookup(copyA, name, opts));
    }
    // The first lookup took all four; none was a miss.
    expect(sharingB.adopted).toBe(4);
    expect(copyB.getStats()).toMatchObject({ hits: 4, misses: 0, entries: 4 });
    // Aged from when A stored it, not from when B adopted it.
    expect(ttls(lookup(copyB, 'plain.example')!)).toEqual([200]);
    // What tells entries apart came along: another subnet, the DO bit, the transport.
    expect(lookup(copyB, 'ecs.example', { options: [ecs([198, 51, 100], 24)] })).toBeUndefined();
    expect(lookup(copyB, 'secure.example')).toBeUndefined();
    expect(lookup(copyB, 'tcp.example')).toBeUndefined();
    expect(copyB.getEntriesCount()).toBe(4);
  });

  it('goes both ways, and a copy never reads back its own entries', () => {
    const { copyA, copyB, sharingA, sharingB, store, names } = setup();
    store(copyA, 'from-a.example');
    store(copyB, 'from-b.example');
    expect(sharingA.catchUp()).toBe(1);
    expect(sharingB.catchUp()).toBe(1);
    expect(sharingA.catchUp() + sharingB.catchUp()).toBe(0);
    expect(names(copyA)).toEqual(['from-a.example.', 'from-b.example.']);
    expect(names(copyB)).toEqual(names(copyA));
  });

  it('drops an entry stored before an expunge and read after it (the generation was raised)', () => {
    const { shared, copyA, copyB, sharingB, store, names } = setup();
    store(copyA, 'old.example');
    Atomics.add(new Int32Array(shared.generations), 0, 1);
    store(copyA, 'new.example');
    expect(sharingB.catchUp()).toBe(1);
    expect(sharingB.refused).toBe(1);
    expect(names(copyB)).toEqual(['new.example.']);
  });

  it('keeps maxEntries over the whole cache: a full copy adopts nothing more', () => {
    const { copyA, copyB, sharingB, store, names } = setup(2, { numberOfShards: 1 });
    store(copyB, 'b1.example');
    store(copyB, 'b2.example');
    store(copyA, 'a1.example');
    expect(sharingB.catchUp()).toBe(0);
    expect(copyB.getEntriesCount()).toBe(2);
    copyB.expunge();
    store(copyA, 'a2.example');
    expect(sharingB.catchUp()).toBe(1);
    expect(names(copyB)).toEqual(['a2.example.']);
  });

  it('adopts an entry that expired before it was read, as the inserting copy keeps it: served stale, then cleaned', () => {
    const { clock, copyA, copyB, sharingB, store, names } = setup(100, { staleTTL: 60 });
    store(copyA, 'short.example', {}, 5);
    store(copyA, 'zero.example', {}, 0);
    const entries = new Float64Array(1);
    copyB.countEntriesInto(entries);
    clock.advance(10);
    expect(sharingB.catchUp()).toBe(2);
    expect(names(copyB)).toEqual(['short.example.', 'zero.example.']);
    expect(entries[0]).toBe(2);
    // What dnsdist's one cache does with it: a miss while a backend is up, a stale answer while none is.
    for (const name of ['short.example', 'zero.example']) {
      const dq = query(name, 'A');
      expect(copyB.lookup(dq, copyB.computeKey(dq))).toBeUndefined();
      expect(ttls(copyB.lookup(dq, copyB.computeKey(dq), 600)!)).toEqual([60]);
    }
    expect(copyB.purgeExpired(0)).toBe(2);
    expect(entries[0]).toBe(0);
  });

  it('a copy that starts after another stored entries takes them up (the workers start one after the other; a restarted one), not those expunged meanwhile', () => {
    const clock = new TestClock();
    const shared = sharingBuffers(2, 1);
    const copyA = new PacketCache(100, {}, clock.now);
    new WorkerCacheSharing([copyA], shared, 0, 2);
    const store = (name: string): void => {
      const dq = query(name, 'A');
      copyA.insert(dq, copyA.computeKey(dq), response(dq, { answers: [a(name, 300)] }));
    };
    store('expunged.example');
    // The console's expunge raises the generation before the running workers drop their entries.
    Atomics.add(new Int32Array(shared.generations), 0, 1);
    store('early.example');
    // Worker B starts (or restarts) only now, and the kernel gives it a client that asked A.
    const copyB = new PacketCache(100, {}, clock.now);
    const sharingB = new WorkerCacheSharing([copyB], shared, 1, 2);
    const lookupB = (name: string): Buffer | undefined => {
      const dq = query(name, 'A');
      return copyB.lookup(dq, copyB.computeKey(dq));
    };
    expect(lookupB('early.example')).toBeDefined();
    expect(lookupB('expunged.example')).toBeUndefined();
    expect(sharingB.adopted).toBe(1);
    expect(copyB.getStats()).toMatchObject({ hits: 1, misses: 1, entries: 1 });
    // B stores an entry, dies and is restarted: its successor takes up what B wrote in its own ring, as A did.
    const dq = query('mine.example', 'A');
    copyB.insert(dq, copyB.computeKey(dq), response(dq, { answers: [a('mine.example', 300)] }));
    const successor = new PacketCache(100, {}, clock.now);
    // Its own ring at once; the other's at its first miss or its first 100 ms tick.
    new WorkerCacheSharing([successor], shared, 1, 2).catchUp();
    expect([...successor.dumpLines()].map((l) => l.split(' ')[0]).sort()).toEqual(['early.example.', 'mine.example.']);
  });

  it('starts reading a ring at its current lap, or at its end when the writer is about to come round', () => {
    expect(startOfLap(0)).toBe(0);
    expect(startOfLap(5000)).toBe(0);
    expect(startOfLap(3 * RING_BYTES + 5000)).toBe(3 * RING_BYTES);
    // Positions are uint32 counters: past 2^32 the lap starts again at 0.
    expect(startOfLap((2 ** 32 + 5000) >>> 0)).toBe(0);
    expect(startOfLap(2 * RING_BYTES - 100)).toBe(2 * RING_BYTES - 100);
  });

  it('does not replace an entry living longer, and counts no collision for another copy’s insert', () => {
    const { copyA, copyB, sharingB, store, lookup } = setup();
    store(copyB, 'long.example', {}, 600);
    store(copyA, 'long.example', {}, 300);
    expect(sharingB.catchUp()).toBe(0);
    expect(ttls(lookup(copyB, 'long.example')!)).toEqual([600]);
    expect(copyB.getStats().insertCollisions).toBe(0);
  });

  it('wraps round its ring: every entry read in time is adopted; a reader a whole ring behind skips to the end', () => {
    const { copyA, copyB, sharingB, store } = setup(100_000, { numberOfShards: 1 });
    // About 3.3 kB per entry: 2,000 entries go round the 4 MiB ring more than once, read every 100.
    const entries = 2000;
    for (let i = 0; i < entries; i++) {
      store(copyA, `w${i}.example`, {}, 300, 200);
      if (i % 100 === 99) sharingB.catchUp();
    }
    expect(entries * 3300).toBeGreaterThan(RING_BYTES);
    expect(sharingB.catchUp()).toBe(0);
    expect(sharingB.adopted).toBe(entries);
    expect(sharingB.lost).toBe(0);
    expect(copyB.getEntriesCount()).toBe(entries);
    copyB.expunge();
    copyA.expunge();
    for (let i = 0; i < entries; i++) store(copyA, `x${i}.example`, {}, 300, 200);
    expect(sharingB.catchUp()).toBe(0);
    expect(sharingB.lost).toBe(1);
    store(copyA, 'after.example');
    expect(sharingB.catchUp()).toBe(1);
  });
});
