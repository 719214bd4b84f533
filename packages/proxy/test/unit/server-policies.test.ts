/**
 * The built-in server policies dnsdist 1.7 has (firstAvailable,
 * leastOutstanding, roundrobin, wrandom, whashed, chashed) and Lua-defined
 * ones: which server each picks for given states, and what it does when no
 * server is up. Backends are real DownstreamServer objects whose state is
 * set by hand (fakeDownstream): no socket, no health check. The weighted
 * ones are checked statistically, wrandom with a seeded random source.
 */
import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import { ConsistentHashPolicy } from '@dnsdist-ts/dataplane/backend/policies/consistent-hash.js';
import { FirstAvailablePolicy } from '@dnsdist-ts/dataplane/backend/policies/first-available.js';
import { LeastOutstandingPolicy } from '@dnsdist-ts/dataplane/backend/policies/least-outstanding.js';
import { RoundRobinPolicy } from '@dnsdist-ts/dataplane/backend/policies/round-robin.js';
import { ScriptedPolicy } from '@dnsdist-ts/dataplane/backend/policies/scripted-policy.js';
import type { ServerPolicy } from '@dnsdist-ts/dataplane/backend/policies/server-policy.js';
import { WeightedHashedPolicy, WeightedRandomPolicy } from '@dnsdist-ts/dataplane/backend/policies/weighted-random.js';
import { ServerPool } from '@dnsdist-ts/dataplane/backend/server-pool.js';
import type { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import { makeQuery } from '../rules/query-fixture.js';
import { fakeDownstream, FakeUdpEndpoint, seededRandom } from './query-path-fakes.js';

const dq = makeQuery();

/** Pool order, as the policies get it (sorted by order, stable). */
function poolOf(...servers: DownstreamServer[]): readonly DownstreamServer[] {
  const pool = new ServerPool('test');
  for (const s of servers) pool.add(s);
  return pool.servers;
}

function names(servers: readonly (DownstreamServer | undefined)[]): string[] {
  return servers.map((s) => s?.name ?? '-');
}

/** The names picked by `policy` for `n` queries. */
function picks(policy: ServerPolicy, servers: readonly DownstreamServer[], n: number, q: DNSQuestion = dq): string[] {
  const out: (DownstreamServer | undefined)[] = [];
  for (let i = 0; i < n; i++) out.push(policy.select(servers, q));
  return names(out);
}

/** How many of `total` picks went to each server, by name. */
function shares(choices: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of choices) counts[c] = (counts[c] ?? 0) + 1;
  return counts;
}

/**
 * Questions for `n` distinct names. Fakes: the hashing policies read only
 * the view's (lower-case) qname, and parsing 20,000 real packets would take
 * seconds on a loaded machine; one real query checks the parsing side.
 */
function manyNames(n: number, prefix = 'host'): DNSQuestion[] {
  const out: DNSQuestion[] = [];
  for (let i = 0; i < n; i++) out.push({ view: { qname: `${prefix}${i}.example.org.` } } as unknown as DNSQuestion);
  return out;
}

describe('leastOutstanding (the default)', () => {
  const policy = new LeastOutstandingPolicy();

  it('picks the up server with the fewest outstanding queries', () => {
    const servers = poolOf(
      fakeDownstream({ name: 'a', outstanding: 5 }),
      fakeDownstream({ name: 'b', outstanding: 2 }),
      fakeDownstream({ name: 'c', outstanding: 9 }),
    );
    expect(policy.select(servers, dq)?.name).toBe('b');
  });

  it('skips a down server even when it has the fewest outstanding', () => {
    const servers = poolOf(fakeDownstream({ name: 'a', outstanding: 0, up: false }), fakeDownstream({ name: 'b', outstanding: 7 }));
    expect(policy.select(servers, dq)?.name).toBe('b');
  });

  it('breaks a tie on outstanding by the lowest order, whatever the latency', () => {
    const servers = poolOf(
      fakeDownstream({ name: 'slow-first', outstanding: 1, order: 1, latencyUsec: 90_000 }),
      fakeDownstream({ name: 'fast-second', outstanding: 1, order: 2, latencyUsec: 10 }),
    );
    expect(policy.select(servers, dq)?.name).toBe('slow-first');
    // The order decides even when the pool hands the servers in another order.
    expect(policy.select([...servers].reverse(), dq)?.name).toBe('slow-first');
  });

  it('breaks a tie on outstanding and order by the lowest latency', () => {
    const servers = poolOf(
      fakeDownstream({ name: 'slow', outstanding: 3, latencyUsec: 5_000 }),
      fakeDownstream({ name: 'fast', outstanding: 3, latencyUsec: 800 }),
      fakeDownstream({ name: 'busy-fastest', outstanding: 4, latencyUsec: 1 }),
    );
    expect(policy.select(servers, dq)?.name).toBe('fast');
  });

  it('keeps the first of servers equal in every way', () => {
    const servers = poolOf(fakeDownstream({ name: 'a' }), fakeDownstream({ name: 'b' }));
    expect(picks(policy, servers, 3)).toEqual(['a', 'a', 'a']);
  });

  it('returns no server when none is up', () => {
    expect(policy.select(poolOf(fakeDownstream({ up: false }), fakeDownstream({ up: false })), dq)).toBeUndefined();
    expect(policy.select([], dq)).toBeUndefined();
  });
});

describe('firstAvailable', () => {
  const policy = new FirstAvailablePolicy();

  it('picks the up server of lowest order, whatever its load', () => {
    const servers = poolOf(
      fakeDownstream({ name: 'second', order: 2, outstanding: 0 }),
      fakeDownstream({ name: 'first', order: 1, outstanding: 50 }),
    );
    expect(picks(policy, servers, 3)).toEqual(['first', 'first', 'first']);
  });

  it('goes to the next order when the first is down', () => {
    const servers = poolOf(fakeDownstream({ name: 'first', order: 1, up: false }), fakeDownstream({ name: 'second', order: 2 }));
    expect(policy.select(servers, dq)?.name).toBe('second');
  });

  it('goes to the next order when the first has used up its qps, and back once it has tokens again', () => {
    const limited = fakeDownstream({ name: 'limited', order: 1, qps: 1 });
    const other = fakeDownstream({ name: 'other', order: 2 });
    const servers = poolOf(limited, other);
    expect(policy.select(servers, dq)?.name).toBe('limited');
    // One query sent to it takes its only token (qps=1, burst 1).
    limited.attachUdpEndpoints([new FakeUdpEndpoint()]);
    limited.sendUdp(makeQuery(), { sendAnswer: () => undefined }, 0);
    expect(limited.qpsWouldAllow()).toBe(false);
    expect(policy.select(servers, dq)?.name).toBe('other');
    limited.setQps(0);
    expect(policy.select(servers, dq)?.name).toBe('limited');
  });

  it('falls back to leastOutstanding when every up server is over its qps', () => {
    const a = fakeDownstream({ name: 'a', order: 1, qps: 1, outstanding: 4 });
    const b = fakeDownstream({ name: 'b', order: 2, qps: 1, outstanding: 1 });
    for (const s of [a, b]) {
      s.attachUdpEndpoints([new FakeUdpEndpoint()]);
      s.sendUdp(makeQuery(), { sendAnswer: () => undefined }, 0);
    }
    // sendUdp counted one more outstanding on each.
    expect(policy.select(poolOf(a, b), dq)?.name).toBe('b');
  });

  it('returns no server when none is up', () => {
    expect(policy.select(poolOf(fakeDownstream({ up: false }), fakeDownstream({ up: false, order: 2 })), dq)).toBeUndefined();
  });
});

describe('roundrobin', () => {
  it('gives each up server a query in turn, in pool order', () => {
    const policy = new RoundRobinPolicy();
    const servers = poolOf(fakeDownstream({ name: 'a' }), fakeDownstream({ name: 'b' }), fakeDownstream({ name: 'c' }));
    expect(picks(policy, servers, 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('skips down servers, and takes one back in turn when it comes up', () => {
    const policy = new RoundRobinPolicy();
    const b = fakeDownstream({ name: 'b', up: false });
    const servers = poolOf(fakeDownstream({ name: 'a' }), b, fakeDownstream({ name: 'c' }));
    expect(picks(policy, servers, 4)).toEqual(['a', 'c', 'a', 'c']);
    b.availability = 'up';
    // As dnsdist's counter: the position goes on (four queries so far), taken modulo the servers up.
    expect(picks(policy, servers, 3)).toEqual(['b', 'c', 'a']);
  });

  it('policies given the same position (one per data-plane worker) take turns as one policy would', () => {
    const position = new Uint32Array(new SharedArrayBuffer(4));
    const first = new RoundRobinPolicy(position);
    const second = new RoundRobinPolicy(position);
    const servers = poolOf(fakeDownstream({ name: 'a' }), fakeDownstream({ name: 'b' }));
    expect([...picks(first, servers, 3), ...picks(second, servers, 3), ...picks(first, servers, 1)]).toEqual([
      'a',
      'b',
      'a',
      'b',
      'a',
      'b',
      'a',
    ]);
  });

  it('the position wraps at 2^32 without skipping a turn', () => {
    const position = new Uint32Array([2 ** 32 - 2]);
    const servers = poolOf(fakeDownstream({ name: 'a' }), fakeDownstream({ name: 'b' }));
    expect(picks(new RoundRobinPolicy(position), servers, 4)).toEqual(['a', 'b', 'a', 'b']);
  });

  it('with no server up, cycles over all of them (setRoundRobinFailOnNoServer(false), the default)', () => {
    const policy = new RoundRobinPolicy();
    expect(policy.failOnNoServer).toBe(false);
    const servers = poolOf(fakeDownstream({ name: 'a', up: false }), fakeDownstream({ name: 'b', up: false }));
    expect(picks(policy, servers, 3)).toEqual(['a', 'b', 'a']);
  });

  it('with no server up and setRoundRobinFailOnNoServer(true), returns none', () => {
    const policy = new RoundRobinPolicy();
    policy.failOnNoServer = true;
    const servers = poolOf(fakeDownstream({ name: 'a', up: false }), fakeDownstream({ name: 'b', up: false }));
    expect(picks(policy, servers, 2)).toEqual(['-', '-']);
    // And picks again as soon as one is up.
    servers[1]!.availability = 'up';
    expect(picks(policy, servers, 2)).toEqual(['b', 'b']);
  });

  it('returns none for an empty pool', () => {
    expect(new RoundRobinPolicy().select([], dq)).toBeUndefined();
  });
});

describe('wrandom (seeded random source)', () => {
  it('shares the queries in proportion to the weights of the up servers', () => {
    const policy = new WeightedRandomPolicy(undefined, seededRandom(42));
    const servers = poolOf(
      fakeDownstream({ name: 'w1', weight: 1 }),
      fakeDownstream({ name: 'w2', weight: 2 }),
      fakeDownstream({ name: 'w7', weight: 7 }),
      fakeDownstream({ name: 'down', weight: 100, up: false }),
    );
    const n = 100_000;
    const got = shares(picks(policy, servers, n));
    expect(got.down).toBeUndefined();
    // Expected 10 % / 20 % / 70 %; the standard deviation of each share is under 0.15 % at this n.
    expect(got.w1! / n).toBeCloseTo(0.1, 2);
    expect(got.w2! / n).toBeCloseTo(0.2, 2);
    expect(got.w7! / n).toBeCloseTo(0.7, 2);
  });

  it('gives the same sequence for the same seed, another for another seed', () => {
    const servers = poolOf(fakeDownstream({ name: 'a' }), fakeDownstream({ name: 'b' }), fakeDownstream({ name: 'c' }));
    const first = picks(new WeightedRandomPolicy(undefined, seededRandom(7)), servers, 50);
    expect(picks(new WeightedRandomPolicy(undefined, seededRandom(7)), servers, 50)).toEqual(first);
    expect(picks(new WeightedRandomPolicy(undefined, seededRandom(8)), servers, 50)).not.toEqual(first);
  });

  it('returns no server when none is up', () => {
    const policy = new WeightedRandomPolicy(undefined, seededRandom(3));
    expect(policy.select(poolOf(fakeDownstream({ up: false, weight: 5 })), dq)).toBeUndefined();
  });
});

describe('whashed', () => {
  it('sends a name to the same server every time', () => {
    const policy = new WeightedHashedPolicy();
    const servers = poolOf(fakeDownstream({ name: 'a' }), fakeDownstream({ name: 'b' }), fakeDownstream({ name: 'c' }));
    const chosen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const q = makeQuery({ name: `Host${i}.Example.org` });
      const first = policy.select(servers, q)!;
      chosen.add(first.name);
      expect(policy.select(servers, q)).toBe(first);
      // The case of the name does not matter (dnsdist hashes the lower-cased name).
      expect(policy.select(servers, makeQuery({ name: `hOST${i}.example.ORG` }))).toBe(first);
    }
    expect(chosen.size).toBe(3);
  });

  it('shares distinct names in proportion to the weights', () => {
    const policy = new WeightedHashedPolicy();
    const servers = poolOf(fakeDownstream({ name: 'w1', weight: 1 }), fakeDownstream({ name: 'w3', weight: 3 }));
    const n = 20_000;
    const got = shares(manyNames(n).map((q) => policy.select(servers, q)!.name));
    expect(got.w1! / n).toBeCloseTo(0.25, 1);
    expect(got.w3! / n).toBeCloseTo(0.75, 1);
  });

  it('setWHashedPertubation changes which server some names go to, and stays consistent', () => {
    const servers = poolOf(fakeDownstream({ name: 'a' }), fakeDownstream({ name: 'b' }), fakeDownstream({ name: 'c' }));
    const plain = new WeightedHashedPolicy();
    const perturbed = new WeightedHashedPolicy();
    perturbed.perturbation = 0xdeadbeef;
    const qs = manyNames(300);
    const before = qs.map((q) => plain.select(servers, q)!.name);
    const after = qs.map((q) => perturbed.select(servers, q)!.name);
    const moved = before.filter((name, i) => name !== after[i]).length;
    // With three servers about two names in three move; none would without the perturbation.
    expect(moved).toBeGreaterThan(100);
    expect(qs.map((q) => perturbed.select(servers, q)!.name)).toEqual(after);
  });

  it('setWHashedPertubation with two servers of equal weight splits the names a server had, instead of swapping the servers', () => {
    const servers = poolOf(fakeDownstream({ name: 'a' }), fakeDownstream({ name: 'b' }));
    const plain = new WeightedHashedPolicy();
    const qs = manyNames(1000).filter((q) => plain.select(servers, q)!.name === 'a');
    const unsplit: string[] = [];
    for (const perturbation of [1, 2, 12345, 0xdeadbeef]) {
      const perturbed = new WeightedHashedPolicy();
      perturbed.perturbation = perturbation;
      const stayed = qs.filter((q) => perturbed.select(servers, q)!.name === 'a').length / qs.length;
      // About half of a's names stay: a hash perturbed in its low bit only would keep all or none.
      if (stayed < 0.3 || stayed > 0.7) unsplit.push(`perturbation ${perturbation}: ${(stayed * 100).toFixed(0)} % stayed`);
    }
    expect(unsplit).toEqual([]);
  });

  it('skips down servers and returns none when none is up', () => {
    const policy = new WeightedHashedPolicy();
    const a = fakeDownstream({ name: 'a', up: false });
    const servers = poolOf(a, fakeDownstream({ name: 'b' }));
    expect(new Set(manyNames(100).map((q) => policy.select(servers, q)!.name))).toEqual(new Set(['b']));
    servers[1]!.availability = 'down';
    expect(policy.select(servers, dq)).toBeUndefined();
  });
});

describe('chashed', () => {
  it('sends a name to the same server every time', () => {
    const policy = new ConsistentHashPolicy();
    const servers = poolOf(fakeDownstream({ name: 'a', weight: 50 }), fakeDownstream({ name: 'b', weight: 50 }));
    for (const q of manyNames(50)) expect(policy.select(servers, q)).toBe(policy.select(servers, q));
  });

  it('shares distinct names in proportion to the weights (points on the ring), whatever the server ids', () => {
    // Ids as newServer makes them (random UUIDs), fixed here: the ring must not depend on their luck.
    const idPairs = [
      ['3f0c5d1e-8a4b-4c2d-9e6f-0a1b2c3d4e5f', 'c81d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5'],
      ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'],
      ['id-w100', 'id-w300'],
    ];
    const qs = manyNames(10_000);
    const offTarget: string[] = [];
    for (const [idA, idB] of idPairs) {
      const policy = new ConsistentHashPolicy();
      const servers = poolOf(
        fakeDownstream({ name: 'w100', id: idA, weight: 100 }),
        fakeDownstream({ name: 'w300', id: idB, weight: 300 }),
      );
      const share = shares(qs.map((q) => policy.select(servers, q)!.name)).w100! / qs.length;
      // 400 points do not split the ring exactly: a 25 % share lands within 8 points of it.
      if (Math.abs(share - 0.25) > 0.08) offTarget.push(`${idA} + ${idB}: weight 100 of 400 got ${(share * 100).toFixed(1)} %`);
    }
    expect(offTarget).toEqual([]);
  });

  it('when a server goes down, only its names move; they come back when it is up again', () => {
    const policy = new ConsistentHashPolicy();
    const b = fakeDownstream({ name: 'b', weight: 50 });
    const servers = poolOf(fakeDownstream({ name: 'a', weight: 50 }), b, fakeDownstream({ name: 'c', weight: 50 }));
    const qs = manyNames(600);
    const before = qs.map((q) => policy.select(servers, q)!.name);
    b.availability = 'down';
    const during = qs.map((q) => policy.select(servers, q)!.name);
    expect(during).not.toContain('b');
    for (let i = 0; i < qs.length; i++) if (before[i] !== 'b') expect(during[i]).toBe(before[i]);
    expect(before.filter((n) => n === 'b').length).toBeGreaterThan(100);
    b.availability = 'up';
    expect(qs.map((q) => policy.select(servers, q)!.name)).toEqual(before);
  });

  it('when a server is added to the pool, names move only to it', () => {
    const policy = new ConsistentHashPolicy();
    const pool = new ServerPool('p');
    pool.add(fakeDownstream({ name: 'a', weight: 50 }));
    pool.add(fakeDownstream({ name: 'b', weight: 50 }));
    const qs = manyNames(600);
    const before = qs.map((q) => policy.select(pool.servers, q)!.name);
    pool.add(fakeDownstream({ name: 'c', weight: 50 }));
    const after = qs.map((q) => policy.select(pool.servers, q)!.name);
    let moved = 0;
    for (let i = 0; i < qs.length; i++) {
      if (after[i] !== before[i]) {
        expect(after[i]).toBe('c');
        moved++;
      }
    }
    expect(moved).toBeGreaterThan(100);
  });

  it('hashPerturbation (setWHashedPertubation) moves names, consistently', () => {
    const servers = poolOf(fakeDownstream({ name: 'a', weight: 50 }), fakeDownstream({ name: 'b', weight: 50 }));
    const plain = new ConsistentHashPolicy();
    const perturbed = new ConsistentHashPolicy();
    perturbed.perturbation = 12345;
    const qs = manyNames(300);
    const after = qs.map((q) => perturbed.select(servers, q)!.name);
    const moved = qs.filter((q, i) => plain.select(servers, q)!.name !== after[i]).length;
    expect(moved).toBeGreaterThan(50);
    expect(qs.map((q) => perturbed.select(servers, q)!.name)).toEqual(after);
  });

  it('returns none when no server is up', () => {
    const policy = new ConsistentHashPolicy();
    expect(policy.select(poolOf(fakeDownstream({ up: false, weight: 10 }), fakeDownstream({ up: false, weight: 10 })), dq)).toBeUndefined();
    expect(policy.select([], dq)).toBeUndefined();
  });
});

describe('newServerPolicy (a script choosing)', () => {
  it('gets every server of the pool, down ones included, and its choice is taken', () => {
    const seen: string[][] = [];
    const policy = new ScriptedPolicy(
      'last',
      {
        choose: (servers) => {
          seen.push(names(servers));
          return servers[servers.length - 1];
        },
      },
      () => undefined,
    );
    const servers = poolOf(fakeDownstream({ name: 'a' }), fakeDownstream({ name: 'b', up: false, order: 2 }));
    expect(policy.select(servers, dq)?.name).toBe('b');
    expect(seen).toEqual([['a', 'b']]);
  });

  it('a failing script is logged with the policy name and gives no server', () => {
    const log: string[] = [];
    const policy = new ScriptedPolicy(
      'broken',
      {
        choose: () => {
          throw new Error('attempt to index a nil value');
        },
      },
      (line) => log.push(line),
    );
    expect(policy.select(poolOf(fakeDownstream()), dq)).toBeUndefined();
    expect(log).toEqual(["Lua server policy 'broken' failed: attempt to index a nil value"]);
  });
});
