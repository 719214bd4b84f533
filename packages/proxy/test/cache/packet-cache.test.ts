import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DNSName, QType } from '@dnsdist-ts/dns';
import {
  PacketCache,
  PacketCacheKeyError,
  PacketCacheOptionError,
  PacketCacheSizeError,
  formatExpungedRecords,
  type PacketCacheOptions,
} from '@dnsdist-ts/dataplane/cache/index.js';
import { CD, RD, Rcode, TC, TestClock, a, decode, query, rcodeOf, response, soa, ttls } from './cache-fixtures.js';

function cache(options: PacketCacheOptions = {}, maxEntries = 100): { pc: PacketCache; clock: TestClock } {
  const clock = new TestClock();
  return { pc: new PacketCache(maxEntries, options, clock.now), clock };
}

/** Look the query up, then store the backend's answer, as the query path does. */
function fill(pc: PacketCache, dq: ReturnType<typeof query>, answer: Buffer): boolean {
  const key = pc.computeKey(dq);
  expect(pc.lookup(dq, key)).toBeUndefined();
  return pc.insert(dq, key, answer);
}

function lookup(pc: PacketCache, dq: ReturnType<typeof query>, allowExpired = 0): Buffer | undefined {
  return pc.lookup(dq, pc.computeKey(dq), allowExpired);
}

describe('PacketCache hits', () => {
  it('serves a copy with the query ID and TTLs decreased by the age', () => {
    const { pc, clock } = cache();
    const first = query('www.example.com', 'A', { id: 1 });
    expect(fill(pc, first, response(first, { answers: [a('www.example.com', 300), a('www.example.com', 250, '192.0.2.2')] }))).toBe(true);

    clock.advance(100);
    const second = query('www.example.com', 'A', { id: 0xbeef });
    const hit = lookup(pc, second)!;
    expect(hit).toBeDefined();
    const p = decode(hit);
    expect(p.id).toBe(0xbeef);
    expect(p.type).toBe('response');
    expect(ttls(hit)).toEqual([200, 150]);
    expect((p.answers![0] as { data: string }).data).toBe('192.0.2.1');

    // The stored answer itself is not aged: a later hit is aged from the insertion time.
    clock.advance(100);
    expect(ttls(lookup(pc, second)!)).toEqual([100, 50]);
    expect(pc.getStats()).toMatchObject({ hits: 2, misses: 1, entries: 1 });
  });

  it('floors aged TTLs at 0 when the entry outlives its records (a temporary failure with records)', () => {
    const { pc, clock } = cache({ temporaryFailureTTL: 60 });
    const dq = query('floor.example', 'A');
    fill(pc, dq, response(dq, { rcode: Rcode.ServFail, answers: [a('floor.example', 100), a('floor.example', 10, '192.0.2.2')] }));
    clock.advance(30);
    expect(ttls(lookup(pc, dq)!)).toEqual([70, 0]);
  });

  it('serves TTLs as stored with dontAge', () => {
    const { pc, clock } = cache({ dontAge: true });
    const dq = query('static.example', 'A');
    fill(pc, dq, response(dq, { answers: [a('static.example', 300)] }));
    clock.advance(120);
    expect(ttls(lookup(pc, dq)!)).toEqual([300]);
  });

  it('matches names case-insensitively and answers with the client’s spelling', () => {
    const { pc } = cache();
    const lower = query('www.example.com', 'A');
    fill(pc, lower, response(lower, { answers: [a('www.example.com', 300)] }));

    const mixed = query('WwW.ExAmPlE.cOm', 'A', { id: 7 });
    const hit = lookup(pc, mixed)!;
    expect(hit).toBeDefined();
    expect(decode(hit).questions![0]!.name).toBe('WwW.ExAmPlE.cOm');
    expect(pc.getStats().hits).toBe(1);
  });

  it('serves a header-only answer as is, with the new ID', () => {
    const { pc } = cache();
    const dq = query('hdr.example', 'A', { id: 1 });
    const key = pc.computeKey(dq);
    // A SERVFAIL stripped to its header: dnsdist caches and serves those too.
    const bare = response(dq, { rcode: Rcode.ServFail }).subarray(0, 12);
    bare[4] = 0;
    bare[5] = 0;
    expect(pc.insert(dq, key, bare)).toBe(true);
    const again = query('hdr.example', 'A', { id: 0x4242 });
    const hit = pc.lookup(again, key)!;
    expect(hit.length).toBe(12);
    expect(hit.readUInt16BE(0)).toBe(0x4242);
    expect(hit[3]! & 0x0f).toBe(Rcode.ServFail);
  });

  it('keeps different queries apart: qtype, RD, CD, DO, payload size, transport', () => {
    const { pc } = cache();
    const base = query('split.example', 'A', { edns: 1232 });
    fill(pc, base, response(base, { answers: [a('split.example', 300)], echoOpt: true }));

    const variants = [
      query('split.example', 'AAAA', { edns: 1232 }),
      query('split.example', 'A', { edns: 1232, flags: 0 }),
      query('split.example', 'A', { edns: 1232, flags: RD | CD }),
      query('split.example', 'A', { edns: 1232, ednsDo: true }),
      query('split.example', 'A', { edns: 4096 }),
      query('split.example', 'A'),
      query('split.example', 'A', { edns: 1232, transport: 'tcp' }),
      query('other.example', 'A', { edns: 1232 }),
    ];
    const keys = new Set([pc.computeKey(base), ...variants.map((dq) => pc.computeKey(dq))]);
    expect(keys.size).toBe(variants.length + 1);
    for (const dq of variants) expect(lookup(pc, dq)).toBeUndefined();
    expect(lookup(pc, query('split.example', 'A', { edns: 1232, id: 99 }))).toBeDefined();
    expect(pc.getStats()).toMatchObject({ hits: 1, misses: variants.length + 1, lookupCollisions: 0 });
  });

  it('ignores the content of EDNS cookies unless cookieHashing, and of skipOptions codes', () => {
    const cookie = (byte: number): { code: number; data: Buffer } => ({ code: 10, data: Buffer.alloc(8, byte) });
    const nsid = (byte: number): { code: number; data: Buffer } => ({ code: 3, data: Buffer.alloc(4, byte) });
    const { pc } = cache();
    const k = (opts: Parameters<typeof query>[2]): number => pc.computeKey(query('c.example', 'A', opts));
    expect(k({ options: [cookie(1)] })).toBe(k({ options: [cookie(2)] }));
    // The option's presence and length still count.
    expect(k({ options: [cookie(1)] })).not.toBe(k({}));
    expect(k({ options: [nsid(1)] })).not.toBe(k({ options: [nsid(2)] }));

    const hashing = new PacketCache(100, { cookieHashing: true });
    const kh = (opts: Parameters<typeof query>[2]): number => hashing.computeKey(query('c.example', 'A', opts));
    expect(kh({ options: [cookie(1)] })).not.toBe(kh({ options: [cookie(2)] }));

    const skipping = new PacketCache(100, { skipOptions: [3] });
    const ks = (opts: Parameters<typeof query>[2]): number => skipping.computeKey(query('c.example', 'A', opts));
    expect(ks({ options: [nsid(1), cookie(1)] })).toBe(ks({ options: [nsid(2), cookie(9)] }));

    // A query with a different cookie is a real hit, not a collision.
    const first = query('c.example', 'A', { options: [cookie(1)] });
    fill(pc, first, response(first, { answers: [a('c.example', 60)] }));
    expect(lookup(pc, query('c.example', 'A', { options: [cookie(7)] }))).toBeDefined();
  });

  it('throws a typed error for a query whose question did not parse', () => {
    const { pc } = cache();
    const dq = query('bad.example', 'A');
    dq.view.parse(Buffer.alloc(5), 5);
    expect(() => pc.computeKey(dq)).toThrow(PacketCacheKeyError);
  });
});

describe('PacketCache insert rules', () => {
  it('does not store an answer without records (the usual empty TC=1 answer)', () => {
    const { pc } = cache();
    const dq = query('big.example', 'TXT');
    expect(fill(pc, dq, response(dq, { flags: TC }))).toBe(false);
    expect(pc.getEntriesCount()).toBe(0);
    expect(lookup(pc, dq)).toBeUndefined();
  });

  it('stores a TC=1 answer that carries records, for UDP queries only, as dnsdist 1.7.3 does', () => {
    const { pc } = cache();
    const dq = query('partial.example', 'A');
    expect(fill(pc, dq, response(dq, { flags: TC, answers: [a('partial.example', 500)] }))).toBe(true);
    expect(lookup(pc, dq)![2]! & 0x02).toBe(0x02);
    expect(lookup(pc, query('partial.example', 'A', { transport: 'tcp' }))).toBeUndefined();
  });

  it('keeps SERVFAIL and REFUSED for temporaryFailureTTL', () => {
    const { pc, clock } = cache({ temporaryFailureTTL: 30 });
    const sf = query('sf.example', 'A');
    const rf = query('rf.example', 'A');
    expect(fill(pc, sf, response(sf, { rcode: Rcode.ServFail }))).toBe(true);
    expect(fill(pc, rf, response(rf, { rcode: Rcode.Refused }))).toBe(true);
    clock.advance(29);
    expect(rcodeOf(lookup(pc, sf)!)).toBe(Rcode.ServFail);
    expect(rcodeOf(lookup(pc, rf)!)).toBe(Rcode.Refused);
    clock.advance(1);
    expect(lookup(pc, sf)).toBeUndefined();
    expect(lookup(pc, rf)).toBeUndefined();
  });

  it('does not store temporary failures with temporaryFailureTTL 0, and honours a per-insert TTL', () => {
    const { pc, clock } = cache({ temporaryFailureTTL: 0 });
    const dq = query('sf.example', 'A');
    expect(fill(pc, dq, response(dq, { rcode: Rcode.ServFail }))).toBe(false);
    expect(pc.insert(dq, pc.computeKey(dq), response(dq, { rcode: Rcode.ServFail }), undefined, { tempFailureTTL: 5 })).toBe(true);
    clock.advance(4);
    expect(lookup(pc, dq)).toBeDefined();
    clock.advance(1);
    expect(lookup(pc, dq)).toBeUndefined();
  });

  it('caps NXDOMAIN and NODATA by maxNegativeTTL using the SOA record’s TTL (not its MINIMUM field)', () => {
    const { pc, clock } = cache({ maxNegativeTTL: 600, maxTTL: 100 });
    const nx = query('nx.example', 'A');
    const nodata = query('nodata.example', 'AAAA');
    const small = query('small.example', 'A');
    expect(fill(pc, nx, response(nx, { rcode: Rcode.NXDomain, authorities: [soa('example', 7200, 60)] }))).toBe(true);
    expect(fill(pc, nodata, response(nodata, { authorities: [soa('example', 7200, 60)] }))).toBe(true);
    // Below maxNegativeTTL a negative answer keeps its own TTL, even above maxTTL.
    expect(fill(pc, small, response(small, { rcode: Rcode.NXDomain, authorities: [soa('example', 400, 60)] }))).toBe(true);

    clock.advance(399);
    expect(lookup(pc, small)).toBeDefined();
    clock.advance(1);
    expect(lookup(pc, small)).toBeUndefined();
    clock.advance(199);
    expect(rcodeOf(lookup(pc, nx)!)).toBe(Rcode.NXDomain);
    expect(lookup(pc, nodata)).toBeDefined();
    clock.advance(1);
    expect(lookup(pc, nx)).toBeUndefined();
    expect(lookup(pc, nodata)).toBeUndefined();
  });

  it('caps positive answers at maxTTL (the TTLs served still come from the records)', () => {
    const { pc, clock } = cache({ maxTTL: 60 });
    const dq = query('long.example', 'A');
    fill(pc, dq, response(dq, { answers: [a('long.example', 3600)] }));
    clock.advance(59);
    expect(ttls(lookup(pc, dq)!)).toEqual([3541]);
    clock.advance(1);
    expect(lookup(pc, dq)).toBeUndefined();
  });

  it('counts the lowest TTL of all sections, additional records included, up to the OPT record', () => {
    const { pc, clock } = cache();
    const dq = query('glue.example', 'A', { edns: 1232 });
    fill(pc, dq, response(dq, { answers: [a('glue.example', 1000)], additionals: [a('ns.glue.example', 77)], echoOpt: true }));
    clock.advance(76);
    expect(ttls(lookup(pc, dq)!)).toEqual([924, 1]);
    clock.advance(1);
    expect(lookup(pc, dq)).toBeUndefined();
  });

  it('refuses answers below minTTL and counts them as ttlTooShorts', () => {
    const { pc } = cache({ minTTL: 10 });
    const dq = query('short.example', 'A');
    expect(fill(pc, dq, response(dq, { answers: [a('short.example', 9)] }))).toBe(false);
    expect(fill(pc, dq, response(dq, { answers: [a('short.example', 10)] }))).toBe(true);
    expect(pc.getStats()).toMatchObject({ ttlTooShorts: 1, entries: 1 });
  });

  it('never serves a zero-TTL answer', () => {
    const { pc } = cache();
    const dq = query('zero.example', 'A');
    fill(pc, dq, response(dq, { answers: [a('zero.example', 0)] }));
    expect(lookup(pc, dq)).toBeUndefined();
    expect(pc.getStats().hits).toBe(0);
  });

  it('stores nothing more once a shard is full, without evicting', () => {
    const { pc } = cache({ numberOfShards: 1 }, 2);
    const qs = ['one.example', 'two.example', 'three.example'].map((n) => query(n, 'A'));
    expect(qs.map((dq) => fill(pc, dq, response(dq, { answers: [a(dq.view.qname, 300)] })))).toEqual([true, true, false]);
    expect(pc.isFull()).toBe(true);
    expect(pc.toString()).toBe('2/2');
    expect(lookup(pc, qs[0]!)).toBeDefined();
    expect(lookup(pc, qs[2]!)).toBeUndefined();
  });

  it('gives each shard maxEntries / numberOfShards slots', () => {
    const { pc } = cache({ numberOfShards: 4 }, 8);
    let stored = 0;
    for (let i = 0; i < 200; i++) {
      const dq = query(`n${i}.example`, 'A');
      if (pc.insert(dq, pc.computeKey(dq), response(dq, { answers: [a(`n${i}.example`, 300)] }))) stored++;
    }
    expect(stored).toBe(8);
    expect(pc.getEntriesCount()).toBe(8);
  });

  it('keeps the entry that lives longer when the same query is stored twice', () => {
    const { pc, clock } = cache();
    const dq = query('twice.example', 'A');
    const key = pc.computeKey(dq);
    expect(pc.insert(dq, key, response(dq, { answers: [a('twice.example', 300)] }))).toBe(true);
    expect(pc.insert(dq, key, response(dq, { answers: [a('twice.example', 100, '192.0.2.99')] }))).toBe(false);
    clock.advance(10);
    expect(pc.insert(dq, key, response(dq, { answers: [a('twice.example', 600, '192.0.2.77')] }))).toBe(true);
    expect((decode(pc.lookup(dq, key)!).answers![0] as { data: string }).data).toBe('192.0.2.77');
    expect(pc.getStats().insertCollisions).toBe(0);
  });
});

describe('PacketCache key collisions', () => {
  // Two different queries forced under one key, as a hash collision would put them.
  const KEY = 12345;

  it('counts a lookup collision (and no miss) and never serves another query’s answer', () => {
    const { pc } = cache();
    const owner = query('owner.example', 'A');
    const intruder = query('intruder.example', 'A');
    expect(pc.insert(owner, KEY, response(owner, { answers: [a('owner.example', 300)] }))).toBe(true);
    expect(pc.lookup(intruder, KEY)).toBeUndefined();
    expect(pc.lookup(query('owner.example', 'A', { flags: 0 }), KEY)).toBeUndefined();
    expect(pc.lookup(query('owner.example', 'A', { transport: 'tcp' }), KEY)).toBeUndefined();
    expect(pc.getStats()).toMatchObject({ lookupCollisions: 3, misses: 0, hits: 0 });
    expect(pc.lookup(owner, KEY)).toBeDefined();
  });

  it('counts an insert collision while the entry is fresh, and replaces it once expired', () => {
    const { pc, clock } = cache();
    const owner = query('owner.example', 'A');
    const intruder = query('intruder.example', 'A');
    pc.insert(owner, KEY, response(owner, { answers: [a('owner.example', 60)] }));
    expect(pc.insert(intruder, KEY, response(intruder, { answers: [a('intruder.example', 600)] }))).toBe(false);
    expect(pc.getStats().insertCollisions).toBe(1);
    clock.advance(60);
    expect(pc.insert(intruder, KEY, response(intruder, { answers: [a('intruder.example', 600)] }))).toBe(true);
    expect(pc.lookup(intruder, KEY)).toBeDefined();
  });

  it('with parseECS, tells queries apart by their client subnet', () => {
    const ecs = (address: number[], bits: number): { code: number; data: Buffer } => ({
      code: 8,
      data: Buffer.from([0, 1, bits, 0, ...address]),
    });
    const { pc } = cache({ parseECS: true });
    const a24 = query('ecs.example', 'A', { options: [ecs([192, 0, 2], 24)] });
    pc.insert(a24, KEY, response(a24, { answers: [a('ecs.example', 300)] }));
    // Same /24, host bits set in the option: the same subnet once masked.
    expect(
      pc.lookup(query('ecs.example', 'A', { options: [{ code: 8, data: Buffer.from([0, 1, 24, 0, 192, 0, 2, 77]) }] }), KEY),
    ).toBeDefined();
    expect(pc.lookup(query('ecs.example', 'A', { options: [ecs([198, 51, 100], 24)] }), KEY)).toBeUndefined();
    expect(pc.lookup(query('ecs.example', 'A', { options: [ecs([192, 0], 16)] }), KEY)).toBeUndefined();
    expect(pc.lookup(query('ecs.example', 'A', { edns: 1232 }), KEY)).toBeUndefined();
    expect(pc.getStats()).toMatchObject({ hits: 1, lookupCollisions: 3 });

    // Without parseECS the key alone decides (the option content is hashed, so real keys differ).
    const plain = new PacketCache(100);
    expect(plain.computeKey(a24)).not.toBe(plain.computeKey(query('ecs.example', 'A', { options: [ecs([198, 51, 100], 24)] })));
  });
});

describe('PacketCache stale entries', () => {
  it('serves an entry expired less than allowExpired seconds ago with every TTL set to staleTTL', () => {
    const { pc, clock } = cache({ staleTTL: 15 });
    const dq = query('stale.example', 'A');
    fill(pc, dq, response(dq, { answers: [a('stale.example', 100), a('stale.example', 300, '192.0.2.2')] }));
    clock.advance(110);
    expect(lookup(pc, dq)).toBeUndefined();
    const stale = lookup(pc, dq, 60)!;
    expect(stale).toBeDefined();
    expect(ttls(stale)).toEqual([15, 15]);
    clock.advance(50);
    expect(lookup(pc, dq, 60)).toBeUndefined();
    expect(pc.getStats()).toMatchObject({ hits: 1, misses: 3 });
  });

  it('keeps expired entries out of reach when allowExpired is 0 (a backend is up)', () => {
    const { pc, clock } = cache({ keepStaleData: true });
    expect(pc.keepStaleData).toBe(true);
    const dq = query('gone.example', 'A');
    fill(pc, dq, response(dq, { answers: [a('gone.example', 10)] }));
    clock.advance(10);
    expect(lookup(pc, dq, 0)).toBeUndefined();
    expect(lookup(pc, dq, 1)).toBeDefined();
  });
});

describe('PacketCache maintenance', () => {
  function filled(names: string[], ttl = (i: number) => 100 + i): { pc: PacketCache; clock: TestClock } {
    const made = cache({ numberOfShards: 1 });
    names.forEach((n, i) => {
      const dq = query(n, n.startsWith('aaaa') ? 'AAAA' : 'A');
      made.pc.insert(dq, made.pc.computeKey(dq), response(dq, { answers: [a(dq.view.qname, ttl(i))] }));
    });
    return made;
  }

  it('expunge(n) keeps n entries, dropping the oldest insertions; expunge() empties', () => {
    const { pc } = filled(['a.example', 'b.example', 'c.example', 'd.example']);
    expect(pc.expunge(3)).toBe(1);
    expect(lookup(pc, query('a.example', 'A'))).toBeUndefined();
    expect(lookup(pc, query('b.example', 'A'))).toBeDefined();
    expect(pc.expunge()).toBe(3);
    expect(pc.getEntriesCount()).toBe(0);
    expect(pc.expunge()).toBe(0);
  });

  it('expungeByName removes a name, a name and type, or a whole subtree', () => {
    const { pc } = filled(['www.example.com', 'mail.example.com', 'example.com', 'example.net', 'sub.www.example.com']);
    const aaaa = query('www.example.com', 'AAAA');
    pc.insert(
      aaaa,
      pc.computeKey(aaaa),
      response(aaaa, { answers: [{ name: 'www.example.com', type: 'AAAA', ttl: 100, data: '2001:db8::1' }] }),
    );
    expect(pc.getEntriesCount()).toBe(6);

    expect(pc.expungeByName('WWW.example.com.', QType.AAAA)).toBe(1);
    expect(pc.expungeByName(DNSName.fromString('www.example.com'))).toBe(1);
    expect(pc.expungeByName('example.com', QType.ANY, true)).toBe(3);
    expect(pc.getEntriesCount()).toBe(1);
    expect(lookup(pc, query('example.net', 'A'))).toBeDefined();
    expect(formatExpungedRecords(3)).toBe('Expunged 3 records\n');
  });

  it('purgeExpired removes expired entries only, down to the requested size', () => {
    const { pc, clock } = filled(['a.example', 'b.example', 'c.example', 'd.example'], (i) => (i < 3 ? 10 : 1000));
    clock.advance(10);
    expect(pc.purgeExpired(2)).toBe(2);
    expect(pc.getEntriesCount()).toBe(2);
    expect(pc.purgeExpired(0)).toBe(1);
    expect(pc.getEntriesCount()).toBe(1);
    expect(lookup(pc, query('d.example', 'A'))).toBeDefined();
  });

  it('countEntriesInto keeps the entry count in the given cell at every insert and removal (adoptions: worker-cache-sharing.test.ts)', () => {
    const { pc, clock } = filled(['a.example', 'b.example'], () => 10);
    const cell = new Float64Array(1);
    pc.countEntriesInto(cell);
    expect(cell[0]).toBe(2);
    const dq = query('c.example', 'A');
    fill(pc, dq, response(dq, { answers: [a('c.example', 100)] }));
    expect(cell[0]).toBe(3);
    // A longer-lived answer to the same query replaces the entry: still three.
    pc.insert(dq, pc.computeKey(dq), response(dq, { answers: [a('c.example', 200)] }));
    expect(cell[0]).toBe(3);
    clock.advance(10);
    expect(pc.purgeExpired(0)).toBe(2);
    expect(cell[0]).toBe(1);
    expect(pc.expungeByName('c.example.')).toBe(1);
    expect(cell[0]).toBe(0);
    pc.insert(dq, pc.computeKey(dq), response(dq, { answers: [a('c.example', 100)] }));
    expect(cell[0]).toBe(1);
    pc.expunge();
    expect(cell[0]).toBe(0);
    expect(() => pc.countEntriesInto(new Float64Array(2))).toThrow(RangeError);
  });
});

describe('PacketCache console output', () => {
  it('prints stats and toString as dnsdist 1.7.3 does', () => {
    const { pc } = cache({ minTTL: 5 }, 50);
    const dq = query('s.example', 'A');
    fill(pc, dq, response(dq, { answers: [a('s.example', 60)] }));
    lookup(pc, dq);
    const short = query('short.example', 'A');
    fill(pc, short, response(short, { answers: [a('short.example', 1)] }));
    expect(pc.toString()).toBe('1/50');
    expect(pc.printStats()).toBe(
      'Entries: 1/50\nHits: 1\nMisses: 2\nDeferred inserts: 0\nDeferred lookups: 0\n' +
        'Lookup Collisions: 0\nInsert Collisions: 0\nTTL Too Shorts: 1\n',
    );
    expect(pc.getStats()).toEqual({
      entries: 1,
      maxEntries: 50,
      hits: 1,
      misses: 2,
      deferredInserts: 0,
      deferredLookups: 0,
      lookupCollisions: 0,
      insertCollisions: 0,
      ttlTooShorts: 1,
    });
  });

  describe('dump', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'dts-cache-dump-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('writes one line per entry to a new file', () => {
      const { pc, clock } = cache();
      const www = query('WWW.Example.com', 'A');
      const nx = query('nx.example', 'AAAA', { transport: 'tcp' });
      fill(pc, www, response(www, { answers: [a('www.example.com', 300)] }));
      fill(pc, nx, response(nx, { rcode: Rcode.NXDomain, authorities: [soa('example', 900)] }));
      clock.advance(20);
      const file = join(dir, 'cache.dump');
      expect(pc.dump(file)).toBe('Dumped 2 records\n');
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines.slice(0, 2)).toEqual(["; dnsdist's packet cache dump follows", ';']);
      const added = clock.seconds - 20;
      const wwwKey = pc.computeKey(www);
      const nxKey = pc.computeKey(nx);
      expect(lines.slice(2, 4).sort()).toEqual(
        [
          `WWW.Example.com. 280 A ; rcode 0, key ${wwwKey}, length ${response(www, { answers: [a('www.example.com', 300)] }).length}, received over UDP 1, added ${added}`,
          `nx.example. 880 AAAA ; rcode 3, key ${nxKey}, length ${response(nx, { rcode: Rcode.NXDomain, authorities: [soa('example', 900)] }).length}, received over UDP 0, added ${added}`,
        ].sort(),
      );
      expect(lines[4]).toBe('');
      expect(statSync(file).mode & 0o777).toBe(0o660 & ~process.umask());
    });

    it('refuses to overwrite a file and reports why, as dnsdist does', () => {
      const { pc } = cache();
      const file = join(dir, 'cache.dump');
      expect(pc.dump(file)).toBe('Dumped 0 records\n');
      expect(readFileSync(file, 'utf8')).toBe("; dnsdist's packet cache dump follows\n;\n");
      expect(pc.dump(file)).toBe('Error opening dump file for writing: File exists\n');
      expect(pc.dump(join(dir, 'missing', 'cache.dump'))).toBe('Error opening dump file for writing: No such file or directory\n');
    });
  });
});

describe('newPacketCache options', () => {
  it('applies dnsdist 1.7.3 defaults', () => {
    const pc = new PacketCache(1000);
    expect(pc.settings).toMatchObject({
      maxEntries: 1000,
      maxTTL: 86400,
      minTTL: 0,
      temporaryFailureTTL: 60,
      staleTTL: 60,
      dontAge: false,
      numberOfShards: 20,
      deferrableInsertLock: true,
      maxNegativeTTL: 3600,
      parseECS: false,
      keepStaleData: false,
      cookieHashing: false,
    });
    expect([...pc.settings.optionsToSkip]).toEqual([10]);
    expect(pc.creationNotice).toBeUndefined();
  });

  it('rejects unknown keys with an error naming the key', () => {
    const err = (() => {
      try {
        new PacketCache(10, { maxTLL: 5 } as unknown as PacketCacheOptions);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(PacketCacheOptionError);
    expect((err as PacketCacheOptionError).key).toBe('maxTLL');
    expect((err as Error).message).toContain("'maxTLL'");
  });

  it("accepts 'ecsParsing', which dnsdist 1.7.3 ignores (its own tests write it for parseECS), with a warning saying so", () => {
    const pc = new PacketCache(10, { ecsParsing: false } as unknown as PacketCacheOptions);
    expect(pc.parseECS).toBe(false);
    expect(pc.settings.ignoredKeyWarnings).toEqual([
      "newPacketCache: option 'ecsParsing' is not a dnsdist option and has no effect (dnsdist 1.7.3 ignores it too); did you mean 'parseECS'?",
    ]);
    expect(new PacketCache(10, {}).settings.ignoredKeyWarnings).toEqual([]);
  });

  it('rejects values of the wrong type, naming the key', () => {
    expect(() => new PacketCache(10, { maxTTL: true } as unknown as PacketCacheOptions)).toThrow(/'maxTTL'/);
    expect(() => new PacketCache(10, { dontAge: 1 } as unknown as PacketCacheOptions)).toThrow(PacketCacheOptionError);
    expect(() => new PacketCache(10, { minTTL: -1 })).toThrow(PacketCacheOptionError);
    expect(() => new PacketCache(10, { skipOptions: [70000] })).toThrow(/'skipOptions'/);
  });

  it('rejects a cache without room', () => {
    expect(() => new PacketCache(0)).toThrow(PacketCacheSizeError);
    expect(() => new PacketCache(1.5)).toThrow(PacketCacheSizeError);
  });

  it('lowers the shard count to maxEntries with dnsdist’s notice, and takes 0 shards as 1', () => {
    const pc = new PacketCache(5);
    expect(pc.settings.numberOfShards).toBe(5);
    expect(pc.creationNotice).toBe(
      'The number of entries (5 in the packet cache is smaller than the number of shards (20), decreasing the number of shards to 5',
    );
    expect(new PacketCache(5, { numberOfShards: 0 }).settings.numberOfShards).toBe(1);
  });

  it('accepts a Lua-style plain object', () => {
    const pc = new PacketCache(10, { maxTTL: 5, skipOptions: [8, 3], cookieHashing: true } as Record<string, unknown>);
    expect(pc.settings.maxTTL).toBe(5);
    expect([...pc.settings.optionsToSkip].sort()).toEqual([3, 8]);
  });
});
