import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfMap, MapType } from '@dnsdist-ts/bpf';
import { DNSName } from '@dnsdist-ts/dns';
import { BPFFilter } from '../src/bpf-filter.js';
import { pinnedExternalOptions } from '../src/bpf-filter-options.js';
import { fingerprintSlots, qnameFingerprint, suffixFingerprint } from '../src/name-fingerprint.js';
import { NAME_INDEX_PIN, NameIndex, nameIndexSlotsFor } from '../src/name-index.js';
import { withNameIndexLock } from '../src/name-index-lock.js';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';

const wire = (name: string) => DNSName.fromString(name).toWireLowerCase();

describe('name index fingerprints', () => {
  it('depend on every byte of a qname and on the first 32 bytes of a suffix, and on the length', () => {
    const long = 'a'.repeat(40) + '.example';
    const other = 'a'.repeat(40) + '.exampla';
    expect(qnameFingerprint(wire(long))).not.toBe(qnameFingerprint(wire(other)));
    // Suffixes only look at their first four words: a collision costs a lookup, nothing more.
    expect(suffixFingerprint(wire(long))).toBe(suffixFingerprint(wire(other)));
    expect(suffixFingerprint(wire('evil.example'))).not.toBe(suffixFingerprint(wire('evil.exampl')));
    expect(qnameFingerprint(wire('a.b'))).not.toBe(qnameFingerprint(Buffer.concat([wire('a.b'), Buffer.from([0])])));
  });

  it('pick two slots inside the region', () => {
    for (const n of ['example', 'a.b.c', 'x'.repeat(63)]) {
      const [a, b] = fingerprintSlots(qnameFingerprint(wire(n)), 4096);
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThan(4096);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(4096);
    }
  });

  it('sizes: 16 slots per map entry, a power of two between 4096 and 4M', () => {
    expect(nameIndexSlotsFor(1)).toBe(4096);
    expect(nameIndexSlotsFor(1024)).toBe(16384);
    expect(nameIndexSlotsFor(1025)).toBe(32768);
    expect(nameIndexSlotsFor(10_000_000)).toBe(1 << 22);
  });
});

describe('the name index lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dts-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is held while the function runs and released after, even when it throws', () => {
    const path = join(dir, 'name-index-7.lock');
    expect(withNameIndexLock(7, () => readFileSync(path, 'utf8').trim(), 1000, dir)).toBe(String(process.pid));
    expect(existsSync(path)).toBe(false);
    expect(() =>
      withNameIndexLock(
        7,
        () => {
          throw new Error('boom');
        },
        1000,
        dir,
      ),
    ).toThrow('boom');
    expect(existsSync(path)).toBe(false);
  });

  it('takes over a lock whose owner died', () => {
    const path = join(dir, 'name-index-8.lock');
    writeFileSync(path, '2147483646\n'); // no such process
    expect(withNameIndexLock(8, () => 'ran', 1000, dir)).toBe('ran');
    expect(existsSync(path)).toBe(false);
  });

  it('waits for a live owner, then says who holds it and what to do', async () => {
    const owner = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => owner.once('spawn', r));
      const path = join(dir, 'name-index-9.lock');
      writeFileSync(path, `${owner.pid}\n`);
      expect(() => withNameIndexLock(9, () => 'ran', 100, dir)).toThrow(
        new RegExp(`being rebuilt by process ${owner.pid} .*remove ${path}`),
      );
      expect(readFileSync(path, 'utf8').trim()).toBe(String(owner.pid)); // a live owner's lock is left alone
    } finally {
      owner.kill('SIGKILL');
    }
  });
});

describeBpf('the name index map', () => {
  let dir: string;
  beforeEach(() => {
    dir = `/sys/fs/bpf/${uniqueName('dtsni')}`;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const off = { mode: 'off', inUse: false };

  it('is created with both parts off and reopened with its size', () => {
    const a = NameIndex.create(join(dir, NAME_INDEX_PIN), 4096);
    try {
      expect(a.state()).toMatchObject({ slots: 4096, qnames: off, suffixes: off, guard: { freshMs: 0 } });
      expect(a.map.maxEntries).toBe(16 + 2 * 4096 + 512);
    } finally {
      a.close();
    }
    const b = NameIndex.openIn(dir)!;
    try {
      expect(b.slots).toBe(4096);
    } finally {
      b.close();
    }
    expect(NameIndex.openIn(join(dir, 'nowhere'))).toBeUndefined();
  });

  it('refuses a map that is not an index, saying how to recreate it', () => {
    const m = BpfMap.createPinned({ type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 10 }, join(dir, NAME_INDEX_PIN));
    m.close();
    expect(() => NameIndex.openIn(dir)).toThrow(/is damaged .*rm .*name-index/);
  });

  it('rebuild: clears stale slots, adds what the scan (run after the clearing) yields, sets the mode', () => {
    const ix = NameIndex.create(join(dir, NAME_INDEX_PIN), 4096);
    try {
      ix.add('qnames', wire('gone.example'));
      expect(ix.mayHold('qnames', wire('gone.example'))).toBe(true);
      expect(ix.mayHold('suffixes', wire('gone.example'))).toBe(false); // the parts are separate
      let clearedBeforeScan = false;
      expect(
        ix.rebuild(
          'qnames',
          () => {
            clearedBeforeScan = !ix.mayHold('qnames', wire('gone.example'));
            return { names: [wire('kept.example')], complete: true };
          },
          'trusted',
        ),
      ).toBe(true);
      expect(clearedBeforeScan).toBe(true);
      expect(ix.mayHold('qnames', wire('gone.example'))).toBe(false);
      expect(ix.mayHold('qnames', wire('kept.example'))).toBe(true);
      expect(ix.state()).toMatchObject({ slots: 4096, qnames: { mode: 'trusted', inUse: true }, suffixes: off });
      // A trusted part needs every entry: a scan that cannot name them all leaves it off (what it found is marked).
      expect(ix.rebuild('suffixes', () => ({ names: [wire('some.example')], complete: false }), 'trusted')).toBe(false);
      expect(ix.state().suffixes).toEqual(off);
      expect(ix.mayHold('suffixes', wire('some.example'))).toBe(true);
      // A guarded part is set all the same: the guard does not vouch for it while such an entry exists.
      expect(ix.rebuild('suffixes', () => ({ names: [], complete: false }), 'guarded')).toBe(true);
      expect(ix.state().suffixes).toEqual({ mode: 'guarded', inUse: false }); // no guard has vouched for it
      ix.disable('qnames');
      expect(ix.state().qnames).toEqual(off);
    } finally {
      ix.close();
    }
  });

  it('an index in the first layout (3 header words) is still marked where its program reads, and can be retired', () => {
    const legacy = BpfMap.createPinned(
      { type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 3 + 2 * 4096 + 512 },
      join(dir, NAME_INDEX_PIN),
    );
    try {
      const u32 = (n: number) => Buffer.from(Uint32Array.of(n).buffer);
      const u64 = (n: bigint) => Buffer.from(BigUint64Array.of(n).buffer);
      legacy.update(u32(0), u64(4096n));
      legacy.update(u32(1), u64(0x7864692d73746444n)); // its "complete" marker, TRUSTED now
      NameIndex.note(dir, 'qnames', wire('late.example'));
      const [a, b] = fingerprintSlots(qnameFingerprint(wire('late.example')), 4096);
      for (const slot of [3 + a, 3 + b, 3 + 2 * 4096 + wire('late.example').byteLength])
        expect(legacy.lookup(u32(slot))!.readBigUInt64LE(0)).toBe(1n);
      const ix = NameIndex.openIn(dir)!;
      try {
        expect(ix.legacy).toBe(true);
        expect(ix.state().qnames.mode).toBe('trusted');
        ix.retire();
        expect(ix.state().qnames.mode).toBe('off');
        expect(() => ix.rebuild('qnames', () => ({ names: [], complete: true }), 'guarded')).toThrow(/first layout.*attach/);
      } finally {
        ix.close();
      }
    } finally {
      legacy.close();
    }
  });

  it("a writer's second note survives a rebuild that cleared its first one (the protocol's race)", () => {
    const ix = NameIndex.create(join(dir, NAME_INDEX_PIN), 4096);
    try {
      const name = wire('late.example');
      NameIndex.note(dir, 'qnames', name); // 1. the writer notes the name ...
      // 2. ... a rebuild clears the part and scans before the entry exists ...
      ix.rebuild('qnames', () => ({ names: [], complete: true }), 'trusted');
      expect(ix.mayHold('qnames', name)).toBe(false);
      // 3. ... the writer inserts its entry (not modelled) and notes the name again.
      NameIndex.note(dir, 'qnames', name);
      expect(ix.mayHold('qnames', name)).toBe(true);
      expect(ix.state().qnames.mode).toBe('trusted');
    } finally {
      ix.close();
    }
  });

  it('BPFFilter.blockQName notes names in an index pinned next to its qnames map, even one created after it opened', () => {
    const filter = new BPFFilter(pinnedExternalOptions(dir, 64));
    try {
      filter.blockQName('Before.Example', 1); // no index yet: nothing to note
      const ix = NameIndex.create(join(dir, NAME_INDEX_PIN), 4096);
      try {
        expect(ix.mayHold('qnames', wire('before.example'))).toBe(false);
        filter.blockQName('After.Example', 28);
        expect(ix.mayHold('qnames', wire('after.example'))).toBe(true); // lower-cased, as the program reads it
        expect(ix.mayHold('suffixes', wire('after.example'))).toBe(false);
      } finally {
        ix.close();
      }
    } finally {
      filter.close();
    }
  });

  it('a legacy (internal) filter has no index to note in', () => {
    const filter = BPFFilter.fromArgs([4, 4, 4]);
    try {
      expect(() => filter.blockQName('x.example')).not.toThrow();
    } finally {
      filter.close();
    }
  });
});
