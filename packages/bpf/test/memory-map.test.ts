import { MemoryMap } from '../src/memory-map.js';
import { BpfBusyError, BpfMapFullError, BpfNotFoundError } from '../src/errors.js';

// Pure-logic test of the in-memory stand-in; no kernel involved.
describe('MemoryMap (in-memory, for unit tests without BPF)', () => {
  const k = (n: number) => Buffer.from([n, 0, 0, 0]);
  const v = (n: number) => Buffer.from([n, 0]);

  it('follows the kernel rules for update modes, fullness and sizes', () => {
    const m = new MemoryMap({ keySize: 4, valueSize: 2, maxEntries: 2 });
    m.update(k(1), v(1), 'noexist');
    expect(() => m.update(k(1), v(2), 'noexist')).toThrow(BpfBusyError);
    expect(() => m.update(k(2), v(2), 'exist')).toThrow(BpfNotFoundError);
    m.update(k(2), v(2));
    expect(() => m.update(k(3), v(3))).toThrow(BpfMapFullError);
    m.update(k(2), v(9));
    expect(m.lookup(k(2))).toEqual(v(9));
    expect(() => m.lookup(Buffer.alloc(3))).toThrow(/key must be 4 bytes/);
    expect(() => m.update(k(1), Buffer.alloc(3))).toThrow(/value must be 2 bytes/);
  });

  it('iterates over a snapshot and supports the batch operations', () => {
    const m = new MemoryMap({ keySize: 4, valueSize: 2, maxEntries: 10 });
    expect(m.updateBatch([1, 2, 3, 4].map((n) => [k(n), v(n)] as const))).toBe(4);
    const seen: number[] = [];
    for (const key of m.keys()) {
      seen.push(key[0]!);
      m.delete(k(4));
      m.delete(key);
    }
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(m.count()).toBe(0);
    m.updateBatch([[k(5), v(5)]]);
    expect(m.dump()).toEqual([[k(5), v(5)]]);
    expect(m.deleteBatch([k(5), k(6)])).toBe(1);
    const out = Buffer.alloc(2);
    expect(m.lookupInto(k(5), out)).toBe(false);
    m.close();
    expect(() => m.has(k(1))).toThrow(/closed/);
  });
});
