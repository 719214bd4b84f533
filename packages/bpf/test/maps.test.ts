import { readdirSync, rmSync } from 'node:fs';
import {
  BpfMap,
  MapType,
  MapFlags,
  btf,
  sumPerCpuU64,
  BpfMapMismatchError,
  BpfNotFoundError,
  BpfMapFullError,
  BpfBusyError,
  BpfError,
  perCpuValueStride,
} from '@dnsdist-ts/bpf';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';
import { execFileSync } from 'node:child_process';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number | bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const openFds = () => readdirSync('/proc/self/fd').length;

describeBpf('BpfMap on the kernel', () => {
  const pinDir = `/sys/fs/bpf/${uniqueName('dtst')}`;
  afterAll(() => rmSync(pinDir, { recursive: true, force: true }));

  const plainTypes: Array<[string, number, number]> = [
    ['hash', MapType.Hash, 0],
    ['hash (no prealloc)', MapType.Hash, MapFlags.NoPrealloc],
    ['LRU hash', MapType.LruHash, 0],
  ];

  it.each(plainTypes)('%s: create, CRUD with update modes, info', (_label, type, flags) => {
    const m = BpfMap.create({ type, name: 'crud', keySize: 4, valueSize: 8, maxEntries: 16, flags });
    try {
      expect(m.info()).toMatchObject({ type, keySize: 4, valueSize: 8, maxEntries: 16, flags, name: 'crud' });
      expect(m.info().id).toBeGreaterThan(0);
      expect(m.lookup(u32(1))).toBeUndefined();
      m.update(u32(1), u64(10), 'noexist');
      expect(m.lookup(u32(1))?.readBigUInt64LE()).toBe(10n);
      expect(() => m.update(u32(1), u64(11), 'noexist')).toThrow(BpfBusyError);
      expect(() => m.update(u32(2), u64(11), 'exist')).toThrow(BpfNotFoundError);
      m.update(u32(1), u64(12), 'exist');
      const out = Buffer.alloc(8);
      expect(m.lookupInto(u32(1), out)).toBe(true);
      expect(out.readBigUInt64LE()).toBe(12n);
      expect(m.has(u32(1))).toBe(true);
      expect(m.delete(u32(1))).toBe(true);
      expect(m.delete(u32(1))).toBe(false);
      expect(m.has(u32(1))).toBe(false);
    } finally {
      m.close();
    }
  });

  it('array: fixed keys, zero-initialised, delete refused', () => {
    const m = BpfMap.create({ type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 4 });
    try {
      expect(m.lookup(u32(3))?.readBigUInt64LE()).toBe(0n);
      expect(m.lookup(u32(4))).toBeUndefined();
      m.update(u32(2), u64(5));
      expect([...m.keys()].map((k) => k.readUInt32LE())).toEqual([0, 1, 2, 3]);
      expect(() => m.delete(u32(2))).toThrow(/EINVAL|Invalid argument/);
      expect(m.dump().map(([k, v]) => [k.readUInt32LE(), v.readBigUInt64LE()])).toEqual([
        [0, 0n],
        [1, 0n],
        [2, 5n],
        [3, 0n],
      ]);
    } finally {
      m.close();
    }
  });

  it('prog array: can be created and inspected', () => {
    const m = BpfMap.create({ type: MapType.ProgArray, keySize: 4, valueSize: 4, maxEntries: 2 });
    expect(m.info()).toMatchObject({ type: MapType.ProgArray, maxEntries: 2 });
    m.close();
  });

  it.each([
    ['per-CPU array', MapType.PerCpuArray],
    ['per-CPU hash', MapType.PerCpuHash],
    ['LRU per-CPU hash', MapType.LruPerCpuHash],
  ])('%s: values per CPU, summable', (_label, type) => {
    const m = BpfMap.create({ type, keySize: 4, valueSize: 12, maxEntries: 8 });
    try {
      const stride = perCpuValueStride(12);
      expect(stride).toBe(16);
      const ncpu = m.valueBufferSize / stride;
      expect(ncpu).toBeGreaterThanOrEqual(1);
      const value = Buffer.alloc(m.valueBufferSize);
      for (let c = 0; c < ncpu; c++) value.writeBigUInt64LE(BigInt(c + 1) * 100n, c * stride);
      m.update(u32(1), value);
      const per = m.lookupPerCpu(u32(1))!;
      expect(per).toHaveLength(ncpu);
      expect(per.map((v) => v.length)).toEqual(Array(ncpu).fill(12));
      const expected = BigInt((ncpu * (ncpu + 1)) / 2) * 100n;
      expect(sumPerCpuU64(per)).toBe(expected);
      expect(sumPerCpuU64(m.lookup(u32(1))!, 0, 12)).toBe(expected);
      const dumped = m.dump().find(([k]) => k.readUInt32LE() === 1);
      expect(sumPerCpuU64(dumped![1], 0, 12)).toBe(expected);
    } finally {
      m.close();
    }
  });

  it('LPM trie: longest prefix wins, exact prefixes are keys', () => {
    const m = BpfMap.create({ type: MapType.LpmTrie, keySize: 8, valueSize: 8, maxEntries: 16, flags: MapFlags.NoPrealloc });
    const key = (prefix: number, addr: string) => {
      const b = Buffer.alloc(8);
      b.writeUInt32LE(prefix);
      addr.split('.').forEach((o, i) => (b[4 + i] = Number(o)));
      return b;
    };
    try {
      m.update(key(8, '10.0.0.0'), u64(8));
      m.update(key(24, '10.1.2.0'), u64(24));
      m.update(key(32, '10.1.2.3'), u64(32));
      expect(m.lookup(key(32, '10.1.2.3'))?.readBigUInt64LE()).toBe(32n);
      expect(m.lookup(key(32, '10.1.2.4'))?.readBigUInt64LE()).toBe(24n);
      expect(m.lookup(key(32, '10.9.9.9'))?.readBigUInt64LE()).toBe(8n);
      expect(m.lookup(key(32, '11.0.0.1'))).toBeUndefined();
      expect(m.count()).toBe(3);
      // LPM tries have no batch ops: the fallback must give the same result.
      const r = m.updateBatchRaw(Buffer.concat([key(16, '172.16.0.0'), key(12, '172.16.0.0')]), Buffer.concat([u64(16), u64(12)]), 2);
      expect(r.count).toBe(2);
      expect(m.lookup(key(32, '172.16.5.5'))?.readBigUInt64LE()).toBe(16n);
      expect(m.lookup(key(32, '172.17.5.5'))?.readBigUInt64LE()).toBe(12n);
      const dump = m.dumpRaw();
      expect(dump.count).toBe(5);
      expect(m.deleteBatch([key(16, '172.16.0.0'), key(12, '172.16.0.0'), key(30, '1.2.3.4')])).toBe(2);
      expect(m.count()).toBe(3);
    } finally {
      m.close();
    }
  });

  it('pins (creating parent directories) and reopens with entries and info intact', () => {
    const path = `${pinDir}/deep/er/addr-v4`;
    const m = BpfMap.create({
      type: MapType.Hash,
      name: 'pinned',
      keySize: 4,
      valueSize: 8,
      maxEntries: 64,
      btf: { key: btf.u32, value: btf.u64 },
    });
    m.update(u32(0xc0000201), u64(7));
    m.pin(path);
    const id = m.info().id;
    m.close();
    const again = BpfMap.openPinned(path, { type: MapType.Hash, keySize: 4, valueSize: 8 });
    try {
      expect(again.info()).toMatchObject({ id, name: 'pinned', maxEntries: 64 });
      expect(again.info().btfId).toBeGreaterThan(0);
      expect(again.lookup(u32(0xc0000201))?.readBigUInt64LE()).toBe(7n);
      expect(again.pinnedPath).toBe(path);
      // bpftool pretty-prints thanks to the BTF types.
      const dump = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', path]).toString());
      expect(dump.map((e: { formatted: unknown }) => e.formatted)).toEqual([{ key: 0xc0000201, value: 7 }]);
    } finally {
      again.close();
    }
  });

  it('opening a pinned map with other expected sizes is a typed mismatch error naming both layouts', () => {
    const path = `${pinDir}/mismatch`;
    const m = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 16, maxEntries: 4 });
    m.pin(path);
    m.close();
    let err: unknown;
    try {
      BpfMap.openPinned(path, { keySize: 4, valueSize: 8 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfMapMismatchError);
    const e = err as BpfMapMismatchError;
    expect(e.message).toContain(path);
    expect(e.message).toContain('valueSize 16 (expected 8)');
    expect(e.expected).toEqual({ keySize: 4, valueSize: 8 });
    expect(e.actual).toEqual({ keySize: 4, valueSize: 16 });
    expect(() => BpfMap.openPinned(path, { type: MapType.LpmTrie })).toThrow(/type Hash \(expected LpmTrie\)/);
  });

  it('ENOENT on a missing pinned path is a typed not-found error with the path', () => {
    const path = `${pinDir}/nothing-here`;
    expect(() => BpfMap.openPinned(path)).toThrow(BpfNotFoundError);
    try {
      BpfMap.openPinned(path);
    } catch (e) {
      expect((e as BpfError).code).toBe('ENOENT');
      expect((e as BpfError).target).toBe(path);
      expect((e as BpfError).message).toMatch(/nothing is pinned at that path/);
    }
  });

  it('pinning outside bpffs is refused with a clear message', () => {
    const m = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 4 });
    try {
      expect(() => m.pin(`/tmp/${uniqueName('dtsnotbpf')}/map`)).toThrow(/not on a bpffs mount/);
    } finally {
      m.close();
    }
  });

  it('a full hash map raises BpfMapFullError; bad sizes and zero max entries are refused', () => {
    const m = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 2 });
    try {
      m.update(u32(1), u64(1));
      m.update(u32(2), u64(1));
      expect(() => m.update(u32(3), u64(1))).toThrow(BpfMapFullError);
      expect(() => m.update(Buffer.alloc(3), u64(1))).toThrow(/key must be 4 bytes, got 3/);
      expect(() => m.update(u32(1), Buffer.alloc(4))).toThrow(/value must be 8 bytes, got 4/);
    } finally {
      m.close();
    }
    expect(() => BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 0 })).toThrow(/positive integer/);
    expect(() => BpfMap.create({ type: MapType.LpmTrie, keySize: 8, valueSize: 8, maxEntries: 4 })).toThrow(
      /map create.*EINVAL|Invalid argument/,
    );
    expect(() => m.lookup(u32(1))).toThrow(/closed/);
  });

  it('iteration over a snapshot is safe while entries are deleted', () => {
    const m = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 2000 });
    try {
      m.updateBatch(Array.from({ length: 1000 }, (_, i) => [u32(i), u64(i)] as const));
      const seen = new Set<number>();
      for (const k of m.keys()) {
        const n = k.readUInt32LE();
        expect(seen.has(n)).toBe(false);
        seen.add(n);
        m.delete(k);
        // Deleting a not-yet-visited key must not break the walk either.
        m.delete(u32((n + 500) % 1000));
      }
      expect(seen.size).toBeGreaterThanOrEqual(500);
      expect(m.count()).toBe(0);
      m.updateBatch([
        [u32(1), u64(1)],
        [u32(2), u64(2)],
      ]);
      const entries: number[] = [];
      for (const [k] of m.entries()) {
        entries.push(k.readUInt32LE());
        m.delete(u32(3 - k.readUInt32LE()));
      }
      expect(entries).toHaveLength(1);
    } finally {
      m.close();
    }
  });

  it.each([64, 1024, 10000])('batch update / dump / delete of %d entries', (n) => {
    const m = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: n });
    try {
      const keys = Buffer.alloc(4 * n);
      const values = Buffer.alloc(8 * n);
      for (let i = 0; i < n; i++) {
        keys.writeUInt32LE(i * 7 + 1, i * 4);
        values.writeBigUInt64LE(BigInt(i), i * 8);
      }
      const r = m.updateBatchRaw(keys, values, n);
      expect(r).toEqual({ count: n, batched: true });
      const dump = m.dumpRaw();
      expect(dump.count).toBe(n);
      expect(dump.batched).toBe(true);
      let sum = 0n;
      for (let i = 0; i < n; i++) sum += dump.values.readBigUInt64LE(i * 8);
      expect(sum).toBe(BigInt((n * (n - 1)) / 2));
      expect(m.lookup(u32(7 * (n - 1) + 1))?.readBigUInt64LE()).toBe(BigInt(n - 1));
      const half = Array.from({ length: n / 2 }, (_, i) => u32(i * 7 + 1));
      expect(m.deleteBatch([...half, u32(0)])).toBe(n / 2);
      expect(m.count()).toBe(n - n / 2);
    } finally {
      m.close();
    }
  });

  it('batch update into a full map reports how far it got', () => {
    const m = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 4 });
    try {
      expect(() => m.updateBatch(Array.from({ length: 6 }, (_, i) => [u32(i), u64(i)] as const))).toThrow(BpfMapFullError);
      expect(m.count()).toBe(4);
    } finally {
      m.close();
    }
  });

  it('closes its fd explicitly: no fd leak over many maps', () => {
    const before = openFds();
    for (let i = 0; i < 200; i++) {
      const m = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 4 });
      m.update(u32(1), u64(1));
      expect([...m.keys()]).toHaveLength(1);
      m.dump();
      m.close();
      m.close();
    }
    expect(openFds()).toBe(before);
  });

  it('reads through a borrowed fd without ever closing it (the owner, e.g. another thread, keeps it)', () => {
    const owner = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 4 });
    try {
      owner.update(u32(7), u64(42));
      const before = openFds();
      const view = BpfMap.borrow(owner.fd);
      expect(view.keySize).toBe(4);
      expect(view.lookup(u32(7))?.readBigUInt64LE(0)).toBe(42n);
      view.close();
      expect(view.closed).toBe(true);
      expect(openFds()).toBe(before);
      expect(owner.lookup(u32(7))?.readBigUInt64LE(0)).toBe(42n);
      expect(() => BpfMap.borrow(1_000_000)).toThrow(BpfError);
    } finally {
      owner.close();
    }
  });
});
