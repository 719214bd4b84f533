/**
 * The query path reuses its DNSQuestion objects (QueryContextPool): a
 * question handed out for a new query must carry nothing over from the
 * query it served before (pool, delay, tags, ECS and cache decisions…).
 * Checked field by field against a fresh question, so that a field added
 * to DNSQuestion later without a reset fails here.
 */
import { parseAddress } from '@dnsdist-ts/dns';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { QueryContextPool } from '@dnsdist-ts/dataplane/query/query-context-pool.js';
import { encodeQuery } from '../rules/query-fixture.js';

const REMOTE = new SocketAddress(parseAddress('192.0.2.1').bytes, 40000);
const LOCAL = new SocketAddress(parseAddress('127.0.0.1').bytes, 53);

/**
 * What describes the new query itself (set by acquire from its arguments),
 * or is set by the query path on every query before it is read.
 */
const SET_PER_QUERY = new Set([
  'packet',
  'length',
  'view',
  'remote',
  'local',
  'transport',
  'receivedAt',
  'ownBuffer',
  'origFlags',
  'selfGeneratedEdns',
]);

/** A value no field has by default. */
const DIRTY = Symbol('left over from the previous query');

describe('QueryContextPool', () => {
  it('hands a released question out again with every per-query field as a fresh question has it', () => {
    const pool = new QueryContextPool();
    const query = encodeQuery({ name: 'first.example' });
    const first = pool.acquire(query, query.length, REMOTE, LOCAL, 'udp', 1);
    const fresh = pool.acquire(query, query.length, REMOTE, LOCAL, 'udp', 1);
    const fields = Object.keys(first).filter((k) => !SET_PER_QUERY.has(k));
    // The check is only as good as the list of fields it walks.
    expect(fields).toEqual(expect.arrayContaining(['pool', 'delayMs', 'tags', 'skipCache', 'useECS', 'ecsSubnet', 'http', 'peer']));
    for (const k of fields) (first as unknown as Record<string, unknown>)[k] = DIRTY;
    pool.release(first);
    const second = encodeQuery({ name: 'second.example' });
    const reused = pool.acquire(second, second.length, REMOTE, LOCAL, 'tcp', 2);
    expect(reused).toBe(first);
    const leftOver = fields.filter((k) => (reused as unknown as Record<string, unknown>)[k] === DIRTY);
    expect(leftOver).toEqual([]);
    for (const k of fields)
      expect([k, (reused as unknown as Record<string, unknown>)[k]]).toEqual([k, (fresh as unknown as Record<string, unknown>)[k]]);
    expect(reused.bytes()).toEqual(second);
    expect(reused.transport).toBe('tcp');
  });

  it('copies the query: the receive buffer may be reused at once', () => {
    const pool = new QueryContextPool();
    const data = encodeQuery({ name: 'copied.example' });
    const original = Buffer.from(data);
    const dq = pool.acquire(data, data.length, REMOTE, LOCAL, 'udp', 1);
    data.fill(0);
    expect(dq.bytes()).toEqual(original);
  });

  it('a query larger than the pooled buffers gets a buffer of its own, not kept in the pool', () => {
    const pool = new QueryContextPool();
    const big = Buffer.alloc(5000, 1);
    const dq = pool.acquire(big, big.length, REMOTE, LOCAL, 'tcp', 1);
    expect(dq.bytes()).toEqual(big);
    pool.release(dq);
    const small = encodeQuery();
    expect(pool.acquire(small, small.length, REMOTE, LOCAL, 'udp', 2)).not.toBe(dq);
  });
});
