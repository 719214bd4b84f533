import { mkdirSync, rmSync } from 'node:fs';
import { BpfMap, MapFlags, MapType, type MapDumpCursor } from '@dnsdist-ts/bpf';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

/** Every chunk of a cursor: the keys (as u32) and values (first u32) it listed, and the chunk sizes. */
function drain(cursor: MapDumpCursor, keyAt = 0, between?: () => void): { rows: Array<[number, number]>; sizes: number[] } {
  const rows: Array<[number, number]> = [];
  const sizes: number[] = [];
  for (let c = cursor.next(); c; c = cursor.next()) {
    sizes.push(c.count);
    for (let i = 0; i < c.count; i++) {
      rows.push([c.keys.readUInt32LE(i * cursor.keySize + keyAt), c.values.readUInt32LE(i * cursor.valueSize)]);
    }
    between?.();
  }
  return { rows, sizes };
}

describeBpf('BpfMap.dumpCursor on a pinned map', () => {
  const pinDir = `/sys/fs/bpf/${uniqueName('dtsc')}`;
  beforeAll(() => mkdirSync(pinDir, { recursive: true }));
  afterAll(() => rmSync(pinDir, { recursive: true, force: true }));

  function pinnedHash(name: string, n: number): BpfMap {
    const path = `${pinDir}/${name}`;
    const made = BpfMap.createPinned({ type: MapType.Hash, keySize: 4, valueSize: 16, maxEntries: n }, path);
    const keys = Buffer.alloc(n * 4);
    const values = Buffer.alloc(n * 16);
    for (let i = 0; i < n; i++) {
      keys.writeUInt32LE(i * 7 + 1, i * 4);
      values.writeUInt32LE(i, i * 16);
    }
    made.updateBatchRaw(keys, values, n);
    made.close();
    return BpfMap.openPinned(path);
  }

  it('lists every entry of a 20,000-entry hash map once, in chunks no larger than asked', () => {
    const m = pinnedHash('hash', 20_000);
    try {
      const { rows, sizes } = drain(m.dumpCursor(1000));
      expect(rows).toHaveLength(20_000);
      expect(new Set(rows.map(([k]) => k)).size).toBe(20_000);
      for (const [k, v] of rows) expect(k).toBe(v * 7 + 1);
      expect(sizes.length).toBeGreaterThanOrEqual(20);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(1000);
      // The same entries as the one-shot dump.
      expect(rows.map(([k]) => k).sort((a, b) => a - b)).toEqual(
        m
          .dump()
          .map(([k]) => k.readUInt32LE())
          .sort((a, b) => a - b),
      );
    } finally {
      m.close();
    }
  });

  it('a chunk of one entry still reads buckets that hold several (the chunk grows for them)', () => {
    const m = pinnedHash('tiny', 3000);
    try {
      const { rows } = drain(m.dumpCursor(1));
      expect(rows).toHaveLength(3000);
      expect(new Set(rows.map(([k]) => k)).size).toBe(3000);
    } finally {
      m.close();
    }
  });

  it('resumes between chunks while entries are deleted and added: those present throughout are listed once', () => {
    const m = pinnedHash('churn', 10_000);
    try {
      let next = 1_000_000;
      const deleted = new Set<number>();
      const { rows } = drain(m.dumpCursor(500), 0, () => {
        // Between two chunks (as between two event-loop turns): delete some, add some.
        for (let i = 0; i < 50; i++) {
          const k = (deleted.size * 7919) % 10_000;
          if (m.delete(u32(k * 7 + 1))) deleted.add(k * 7 + 1);
          m.update(u32(next++), Buffer.alloc(16), 'any');
        }
      });
      const listed = new Map<number, number>();
      for (const [k] of rows) listed.set(k, (listed.get(k) ?? 0) + 1);
      for (let i = 0; i < 10_000; i++) {
        const k = i * 7 + 1;
        if (!deleted.has(k)) expect(listed.get(k)).toBe(1);
      }
      expect([...listed.values()].every((c) => c === 1)).toBe(true);
    } finally {
      m.close();
    }
  });

  it('walks an LPM trie (no batch lookup) by keys, chunk by chunk', () => {
    const path = `${pinDir}/trie`;
    const made = BpfMap.createPinned(
      { type: MapType.LpmTrie, keySize: 8, valueSize: 8, maxEntries: 600, flags: MapFlags.NoPrealloc },
      path,
    );
    for (let i = 0; i < 500; i++) {
      const key = Buffer.alloc(8);
      key.writeUInt32LE(32, 0);
      key.writeUInt32BE(0x0a000000 + i, 4);
      const value = Buffer.alloc(8);
      value.writeUInt32LE(i);
      made.update(key, value);
    }
    made.close();
    const m = BpfMap.openPinned(path);
    try {
      const { rows, sizes } = drain(m.dumpCursor(64), 4);
      expect(rows).toHaveLength(500);
      for (const [k, v] of rows) expect(Buffer.from(u32(k)).readUInt32BE() - 0x0a000000).toBe(v);
      expect(sizes.length).toBeGreaterThanOrEqual(8);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(64);
    } finally {
      m.close();
    }
  });

  it('an empty map gives one empty chunk, then nothing; a bad chunk size is refused', () => {
    const m = BpfMap.createPinned({ type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 8 }, `${pinDir}/empty`);
    try {
      const c = m.dumpCursor(16);
      expect(c.next()?.count).toBe(0);
      expect(c.done).toBe(true);
      expect(c.next()).toBeUndefined();
      expect(() => m.dumpCursor(0)).toThrow(/chunk size must be a positive integer, got 0/);
    } finally {
      m.close();
    }
  });
});
