import { Rings } from '@dnsdist-ts/dataplane/rings/rings.js';
import { RingArgumentError } from '@dnsdist-ts/dataplane/rings/ring-argument-error.js';
import { TIMEOUT_LATENCY_USEC } from '@dnsdist-ts/dataplane/rings/response-ring.js';
import type { QueryEntry, ResponseEntry } from '@dnsdist-ts/dataplane/rings/ring-entry.js';
import { collectionsDuring } from './gc-watch.js';
import { AA, BACKEND, RD, TC, makeQuery, makeResponse } from './ring-fixtures.js';

function queryNames(rings: Rings): string[] {
  const names: string[] = [];
  rings.forEachQuery((e) => names.push(e.qname));
  return names;
}

describe('Rings sizing and sharding', () => {
  it('defaults to 10000 entries in 10 shards', () => {
    const rings = new Rings();
    expect(rings.capacity).toBe(10000);
    expect(rings.getNumberOfShards()).toBe(10);
    expect(rings.queryRings.map((r) => r.capacity)).toEqual(Array(10).fill(1000));
    expect(rings.responseRings.map((r) => r.capacity)).toEqual(Array(10).fill(1000));
    expect(rings.getOptions()).toEqual({ recordQueries: true, recordResponses: true, lockRetries: 5 });
  });

  it('gives each shard floor(capacity / shards) slots and inserts round-robin', () => {
    const rings = new Rings(10, 3);
    expect(rings.queryRings.map((r) => r.capacity)).toEqual([3, 3, 3]);
    for (let i = 0; i < 7; i++) rings.recordQuery(makeQuery({ name: `q${i}.example`, at: i }));
    expect(rings.queryRings.map((r) => r.count)).toEqual([3, 2, 2]);
    // Shard 0 got q0, q3, q6; shard 1 q1, q4; shard 2 q2, q5.
    expect(queryNames(rings)).toEqual([
      'q0.example.',
      'q3.example.',
      'q6.example.',
      'q1.example.',
      'q4.example.',
      'q2.example.',
      'q5.example.',
    ]);
    expect(rings.getNumberOfQueryEntries()).toBe(7);
  });

  it('overwrites the oldest entries of a full shard, keeping walk order oldest first', () => {
    const rings = new Rings(6, 2);
    for (let i = 0; i < 11; i++) rings.recordQuery(makeQuery({ name: `q${i}.example`, at: i }));
    // Shard 0 saw q0 q2 q4 q6 q8 q10 and keeps the last three; shard 1 saw q1 … q9.
    expect(queryNames(rings)).toEqual(['q6.example.', 'q8.example.', 'q10.example.', 'q5.example.', 'q7.example.', 'q9.example.']);
    expect(rings.getNumberOfQueryEntries()).toBe(6);
    const times: number[] = [];
    rings.forEachQuery((e) => times.push(e.time));
    expect(times).toEqual([6, 8, 10, 5, 7, 9]);
  });

  it('keeps queries and responses on separate round-robin turns', () => {
    const rings = new Rings(4, 2);
    for (let i = 0; i < 4; i++) {
      const dq = makeQuery({ name: `q${i}.example`, at: i });
      rings.recordQuery(dq);
      rings.recordResponse(makeResponse(dq), i + 0.5);
    }
    expect(rings.queryRings.map((r) => r.count)).toEqual([2, 2]);
    expect(rings.responseRings.map((r) => r.count)).toEqual([2, 2]);
  });

  it('records nothing with a capacity below the shard count, or 0', () => {
    for (const rings of [new Rings(5, 10), new Rings(0, 1)]) {
      rings.recordQuery(makeQuery());
      rings.recordResponse(makeResponse(makeQuery()), 1);
      expect(rings.getNumberOfQueryEntries()).toBe(0);
      expect(rings.getNumberOfResponseEntries()).toBe(0);
      expect(rings.topClients()).toBe('   1  Rest                                        0 100.0%\n');
    }
  });

  it('reallocates and empties on setSize, and rejects bad sizes', () => {
    const rings = new Rings(100, 2);
    rings.recordQuery(makeQuery());
    rings.setSize(40, 4);
    expect(rings.getNumberOfQueryEntries()).toBe(0);
    expect(rings.queryRings.map((r) => r.capacity)).toEqual([10, 10, 10, 10]);
    expect(() => rings.setSize(-1)).toThrow(RingArgumentError);
    expect(() => rings.setSize(1.5)).toThrow(/ring buffer size must be an integer/);
    expect(() => rings.setSize(10, 0)).toThrow(/number of ring buffer shards must be an integer from 1/);
    try {
      rings.setSize(10, 0);
    } catch (e) {
      expect((e as RingArgumentError).input).toBe(0);
    }
  });

  it('uses no lock retries with a single shard, like dnsdist', () => {
    expect(new Rings(10, 1).getOptions().lockRetries).toBe(0);
  });

  it('stops recording queries or responses when told to', () => {
    const rings = new Rings(100, 1);
    rings.setOptions({ recordQueries: false });
    const dq = makeQuery();
    rings.recordQuery(dq);
    rings.recordResponse(makeResponse(dq), 1);
    expect(rings.getNumberOfQueryEntries()).toBe(0);
    expect(rings.getNumberOfResponseEntries()).toBe(1);
    rings.setOptions({ recordQueries: true, recordResponses: false, lockRetries: 3 });
    rings.recordQuery(dq);
    rings.recordResponse(makeResponse(dq), 1);
    rings.recordTimeout(dq, BACKEND, 2);
    expect(rings.getNumberOfQueryEntries()).toBe(1);
    expect(rings.getNumberOfResponseEntries()).toBe(1);
    expect(rings.getOptions()).toEqual({ recordQueries: true, recordResponses: false, lockRetries: 3 });
    expect(() => rings.setOptions({ lockRetries: -1 })).toThrow(RingArgumentError);
  });

  it('clears entries and drops its references to clients and servers', () => {
    const rings = new Rings(10, 1);
    const dq = makeQuery();
    rings.recordQuery(dq);
    rings.recordResponse(makeResponse(dq), 1);
    rings.clear();
    expect(rings.getNumberOfQueryEntries()).toBe(0);
    expect(rings.getNumberOfResponseEntries()).toBe(0);
    expect(rings.queryRings[0]!.client.every((c) => c === null)).toBe(true);
    expect(rings.responseRings[0]!.server.every((s) => s === null)).toBe(true);
    rings.recordQuery(dq);
    expect(queryNames(rings)).toEqual(['www.example.com.']);
  });
});

describe('what an entry holds', () => {
  it('stores the query as received', () => {
    const rings = new Rings(10, 1);
    const dq = makeQuery({
      name: 'WWW.Example.COM',
      type: 'AAAA',
      id: 0xbeef,
      flags: RD | (2 << 11),
      client: '2001:db8::7',
      port: 999,
      transport: 'tcp',
      at: 12.5,
    });
    rings.recordQuery(dq);
    const seen: Record<string, unknown>[] = [];
    rings.forEachQuery((e: QueryEntry) =>
      seen.push({
        time: e.time,
        qname: e.qname,
        qtype: e.qtype,
        size: e.size,
        flags: e.flags,
        id: e.id,
        transport: e.transport,
        client: e.client?.toStringWithPort(),
      }),
    );
    expect(seen).toEqual([
      {
        time: 12.5,
        qname: 'www.example.com.',
        qtype: 28,
        size: dq.length,
        flags: RD | (2 << 11),
        id: 0xbeef,
        transport: 'tcp',
        client: '[2001:db8::7]:999',
      },
    ]);
    // The client is kept by reference, not copied.
    expect(rings.queryRings[0]!.client[0]).toBe(dq.remote);
  });

  it('stores the answer header with the question and client of its query', () => {
    const rings = new Rings(10, 1);
    const dq = makeQuery({ name: 'a.example', type: 'MX', id: 7, client: '192.0.2.9', port: 1234 });
    const dr = makeResponse(dq, { rcode: 3, flags: AA | TC, answers: 2, latencyUsec: 2345, padding: 10 });
    rings.recordResponse(dr, 99);
    const seen: Record<string, unknown>[] = [];
    rings.forEachResponse((e: ResponseEntry) =>
      seen.push({
        time: e.time,
        qname: e.qname,
        qtype: e.qtype,
        size: e.size,
        rcode: e.rcode,
        tc: (e.flags & TC) !== 0,
        aa: (e.flags & AA) !== 0,
        rd: (e.flags & RD) !== 0,
        id: e.id,
        ancount: e.ancount,
        latency: e.latencyUsec,
        timedOut: e.timedOut,
        server: e.server?.name,
        client: e.client?.toStringWithPort(),
      }),
    );
    expect(seen).toEqual([
      {
        time: 99,
        qname: 'a.example.',
        qtype: 15,
        size: dr.length,
        rcode: 3,
        tc: true,
        aa: true,
        rd: true,
        id: 7,
        ancount: 2,
        latency: 2345,
        timedOut: false,
        server: 'b1',
        client: '192.0.2.9:1234',
      },
    ]);
  });

  it('records a timeout as dnsdist does: zero header but the ID, no size, the timeout latency', () => {
    const rings = new Rings(10, 1);
    const dq = makeQuery({ id: 321 });
    rings.recordTimeout(dq, BACKEND, 5);
    const seen: unknown[] = [];
    rings.forEachResponse((e) => seen.push([e.flags, e.id, e.size, e.latencyUsec, e.timedOut, e.server?.addressText]));
    expect(seen).toEqual([[0, 321, 0, TIMEOUT_LATENCY_USEC, true, '198.51.100.53:53']]);
  });

  it('refuses entry views used outside a walk', () => {
    const rings = new Rings(10, 1);
    rings.recordQuery(makeQuery());
    let kept: QueryEntry | undefined;
    rings.forEachQuery((e) => (kept = e));
    // Still positioned on the last entry it was moved to; a fresh view is not.
    expect(kept!.qname).toBe('www.example.com.');
    expect(() => new (kept!.constructor as new () => QueryEntry)().qname).toThrow(/not positioned/);
  });

  it('counts distinct client addresses, ignoring ports', () => {
    const rings = new Rings(100, 4);
    for (const [client, port] of [
      ['192.0.2.1', 1],
      ['192.0.2.1', 2],
      ['192.0.2.2', 1],
      ['2001:db8::1', 1],
      ['2001:db8::1', 9],
    ] as const) {
      rings.recordQuery(makeQuery({ client, port }));
    }
    expect(rings.numDistinctRequestors()).toBe(3);
  });
});

describe('hot path', () => {
  it('records without allocating: no garbage collection while inserting millions of entries', async () => {
    const rings = new Rings(1000, 10);
    const queries = Array.from({ length: 64 }, (_, i) => makeQuery({ name: `n${i}.example`, at: i }));
    const responses = queries.map((dq) => makeResponse(dq));
    const insertAll = (rounds: number): void => {
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < queries.length; i++) {
          rings.recordQuery(queries[i]!);
          rings.recordResponse(responses[i]!, i);
        }
      }
    };
    insertAll(500); // let V8 optimise the insert paths first
    // 2.56 million inserts: 16 bytes of garbage each would fill the young generation several times over.
    expect(await collectionsDuring(() => insertAll(20_000))).toBeLessThanOrEqual(1);
    expect(rings.getNumberOfQueryEntries()).toBe(1000);
  });

  it('would notice allocation (the check itself works)', async () => {
    const sink: unknown[] = new Array(1024).fill(null);
    expect(
      await collectionsDuring(() => {
        // About 64 bytes each: far more than the young generation, whatever size V8 gave it.
        for (let i = 0; i < 2_560_000; i++) sink[i & 1023] = { i, a: i, b: i, c: i, d: i, e: i, f: i };
      }),
    ).toBeGreaterThan(1);
  });
});
