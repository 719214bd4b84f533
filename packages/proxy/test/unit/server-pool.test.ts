/**
 * ServerPool: the list the policies get. Sorted by order (stable, so equal
 * orders keep the order they were added in), and replaced rather than
 * edited, so that a policy keying on the array (chashed's ring) sees every
 * change.
 */
import { ServerPool } from '@dnsdist-ts/dataplane/backend/server-pool.js';
import { fakeDownstream } from './query-path-fakes.js';

describe('ServerPool', () => {
  it('keeps its servers sorted by order, equal orders in the order they came', () => {
    const pool = new ServerPool('p');
    for (const [name, order] of [
      ['c', 3],
      ['a1', 1],
      ['b', 2],
      ['a2', 1],
    ] as const) {
      pool.add(fakeDownstream({ name, order }));
    }
    expect(pool.servers.map((s) => s.name)).toEqual(['a1', 'a2', 'b', 'c']);
  });

  it('hands out a new array on every change, the same one otherwise', () => {
    const pool = new ServerPool('p');
    const a = fakeDownstream({ name: 'a' });
    pool.add(a);
    const before = pool.servers;
    expect(pool.servers).toBe(before);
    pool.add(a);
    expect(pool.servers).toBe(before);
    pool.add(fakeDownstream({ name: 'b' }));
    const added = pool.servers;
    expect(added).not.toBe(before);
    a.config.order = 5;
    pool.refresh();
    expect(pool.servers).not.toBe(added);
    expect(pool.servers.map((s) => s.name)).toEqual(['b', 'a']);
    pool.remove(a);
    expect(pool.servers.map((s) => s.name)).toEqual(['b']);
    expect(before.map((s) => s.name)).toEqual(['a']);
  });

  it('counts the servers up', () => {
    const pool = new ServerPool('p');
    pool.add(fakeDownstream({ up: true }));
    pool.add(fakeDownstream({ up: false }));
    pool.add(fakeDownstream({ up: true }));
    expect(pool.countUp()).toBe(2);
  });
});
