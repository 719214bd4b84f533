/**
 * WorkerCacheSharing over real PacketCache objects and a real
 * BroadcastChannel in one thread: "worker A" joins the pool's channel and
 * sends its inserts; a listener on the same channel takes each batch as
 * it goes out, and "worker B" (on a channel of its own, so that the test
 * decides when it receives) adopts it. Between real threads:
 * test/e2e/workers-cache.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { PacketCache } from '../../src/cache/index.js';
import { WorkerCacheSharing, type CacheSharingBuffers } from '../../src/workers/worker-cache-sharing.js';
import { TestClock, a, query, response, ttls, type QueryOptions } from '../cache/cache-fixtures.js';

const ecs = (address: number[], bits: number): { code: number; data: Buffer } => ({
  code: 8,
  data: Buffer.from([0, 1, bits, 0, ...address]),
});

function buffers(): CacheSharingBuffers {
  return { channel: `test-cache-sharing-${randomUUID()}`, generations: new SharedArrayBuffer(8) };
}

describe('WorkerCacheSharing', () => {
  const open: Array<{ close(): void }> = [];
  afterEach(() => {
    for (const o of open.splice(0)) o.close();
  });

  /** Worker A's and worker B's copies of one cache, and the batches A sends. */
  function setup(size = 100, options: Record<string, unknown> = {}) {
    const clock = new TestClock();
    const shared = buffers();
    const copyA = new PacketCache(size, options, clock.now);
    const copyB = new PacketCache(size, options, clock.now);
    const sharingA = new WorkerCacheSharing([copyA], shared);
    const sharingB = new WorkerCacheSharing([copyB], { ...shared, channel: `${shared.channel}-b` });
    const listener = new BroadcastChannel(shared.channel);
    open.push(sharingA, sharingB, listener);
    const batches: Uint8Array[] = [];
    let waiting: (() => void) | undefined;
    listener.onmessage = (event) => {
      batches.push(event.data as Uint8Array);
      waiting?.();
    };
    /** The next batch A sends (the end of the current turn sends it). */
    const nextBatch = async (): Promise<Uint8Array> => {
      if (batches.length === 0) await new Promise<void>((resolve) => (waiting = resolve));
      return batches.shift()!;
    };
    const store = (pc: PacketCache, name: string, opts: QueryOptions = {}, ttl = 300): boolean => {
      const dq = query(name, 'A', opts);
      return pc.insert(dq, pc.computeKey(dq), response(dq, { answers: [a(name, ttl)] }));
    };
    const lookup = (pc: PacketCache, name: string, opts: QueryOptions = {}): Buffer | undefined => {
      const dq = query(name, 'A', { id: 0x4242, ...opts });
      return pc.lookup(dq, pc.computeKey(dq));
    };
    return { clock, shared, copyA, copyB, sharingA, sharingB, batches, nextBatch, store, lookup };
  }

  it('carries every entry one copy stored, in one batch per turn, and the other copy answers it as the first would', async () => {
    const { clock, copyA, copyB, sharingB, batches, nextBatch, store, lookup } = setup(100, { parseECS: true });
    expect(store(copyA, 'plain.example')).toBe(true);
    expect(store(copyA, 'secure.example', { ednsDo: true })).toBe(true);
    expect(store(copyA, 'tcp.example', { transport: 'tcp' })).toBe(true);
    expect(store(copyA, 'ecs.example', { options: [ecs([192, 0, 2], 24)] })).toBe(true);
    // Nothing goes out during the turn: one message at its end.
    expect(batches).toHaveLength(0);
    const batch = await nextBatch();
    expect(batches).toHaveLength(0);
    expect(lookup(copyB, 'plain.example')).toBeUndefined();
    clock.advance(100);
    sharingB.receive(batch);
    expect(sharingB.adopted).toBe(4);
    for (const [name, opts] of [
      ['plain.example', {}],
      ['secure.example', { ednsDo: true }],
      ['tcp.example', { transport: 'tcp' }],
      ['ecs.example', { options: [ecs([192, 0, 2], 24)] }],
    ] as Array<[string, QueryOptions]>) {
      const fromB = lookup(copyB, name, opts);
      expect(fromB).toBeDefined();
      expect(fromB).toEqual(lookup(copyA, name, opts));
    }
    // Aged from when A stored it, not from when B adopted it.
    expect(ttls(lookup(copyB, 'plain.example')!)).toEqual([200]);
    // What tells entries apart came along: another subnet, the DO bit, the transport.
    expect(lookup(copyB, 'ecs.example', { options: [ecs([198, 51, 100], 24)] })).toBeUndefined();
    expect(lookup(copyB, 'secure.example')).toBeUndefined();
    expect(lookup(copyB, 'tcp.example')).toBeUndefined();
    expect(copyB.getEntriesCount()).toBe(4);
  });

  it('drops an entry stored before an expunge that arrives after it (the generation was raised)', async () => {
    const { shared, copyA, copyB, sharingB, nextBatch, store } = setup();
    store(copyA, 'old.example');
    const before = await nextBatch();
    Atomics.add(new Int32Array(shared.generations), 0, 1);
    store(copyA, 'new.example');
    const after = await nextBatch();
    sharingB.receive(before);
    sharingB.receive(after);
    expect(sharingB.adopted).toBe(1);
    expect(sharingB.refused).toBe(1);
    expect([...copyB.dumpLines()].map((l) => l.split(' ')[0])).toEqual(['new.example.']);
  });

  it('keeps maxEntries over the whole cache: a full copy adopts nothing more; an expired entry is not adopted', async () => {
    const { clock, copyA, copyB, sharingB, nextBatch, store } = setup(2, { numberOfShards: 1 });
    store(copyB, 'b1.example');
    store(copyB, 'b2.example');
    store(copyA, 'a1.example');
    store(copyA, 'short.example', {}, 5);
    const batch = await nextBatch();
    sharingB.receive(batch);
    expect(copyB.getEntriesCount()).toBe(2);
    expect(sharingB.refused).toBe(2);
    copyB.expunge();
    clock.advance(10);
    sharingB.receive(batch);
    expect([...copyB.dumpLines()].map((l) => l.split(' ')[0])).toEqual(['a1.example.']);
  });

  it('does not replace a fresh entry of another query under the same key, nor one living longer', async () => {
    const { copyA, copyB, sharingB, nextBatch, store, lookup } = setup();
    store(copyA, 'long.example', {}, 300);
    const batch = await nextBatch();
    store(copyB, 'long.example', {}, 600);
    sharingB.receive(batch);
    expect(sharingB.refused).toBe(1);
    expect(ttls(lookup(copyB, 'long.example')!)).toEqual([600]);
    // Nothing counted as a collision on B's side: A counted its own inserts.
    expect(copyB.getStats().insertCollisions).toBe(0);
  });

  it('leaves a malformed batch where it stops making sense', () => {
    const { copyB, sharingB } = setup();
    sharingB.receive(Uint8Array.of(0, 0, 1, 2, 3));
    sharingB.receive(new Uint8Array(40).fill(0xff));
    expect(copyB.getEntriesCount()).toBe(0);
  });
});
