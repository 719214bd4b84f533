/**
 * setWeightedBalancingFactor / setConsistentHashingBalancingFactor: dnsdist's
 * "bounded loads". With a factor f > 0, wrandom and whashed (resp. chashed)
 * pass over a server whose outstanding queries exceed
 * f × (outstanding on all up servers + 1) × its weight / total weight.
 * Pure logic on real DownstreamServer objects (no sockets); the factor
 * values refused are checked side by side with Debian's dnsdist 1.7.3.
 */
import { dnsdistCheckConfig, describeDnsdist } from '../../../../test/support/dnsdist.js';
import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import { BalancingFactorError, BalancingFactors } from '@dnsdist-ts/dataplane/backend/policies/balancing-factors.js';
import { ConsistentHashPolicy } from '@dnsdist-ts/dataplane/backend/policies/consistent-hash.js';
import { WeightedHashedPolicy, WeightedRandomPolicy } from '@dnsdist-ts/dataplane/backend/policies/weighted-random.js';
import type { ServerPolicy } from '@dnsdist-ts/dataplane/backend/policies/server-policy.js';
import { DnsdistApp } from '../../src/app/dnsdist-app.js';
import { makeQuery } from '../rules/query-fixture.js';
import { policyTestServer as server } from './server-fixture.js';

/** Run `fn` with Math.random() returning `value` (wrandom's draw). */
function withRandom<T>(value: number, fn: () => T): T {
  const random = Math.random;
  Math.random = () => value;
  try {
    return fn();
  } finally {
    Math.random = random;
  }
}

/** A query name the policy sends to `target` while nothing is loaded (the hash policies are deterministic). */
function nameFor(policy: ServerPolicy, servers: DownstreamServer[], target: DownstreamServer): string {
  for (let i = 0; i < 10_000; i++) {
    const name = `q${i}.example.`;
    if (policy.select(servers, makeQuery({ name })) === target) return name;
  }
  throw new Error(`no name lands on ${target.name}`);
}

describe('wrandom with setWeightedBalancingFactor', () => {
  it('passes over a server with too many outstanding queries, and picks it without the factor', () => {
    const factors = new BalancingFactors();
    const policy = new WeightedRandomPolicy(factors);
    const [a, b] = [server(1, 1), server(2, 1)];
    a.outstanding = 10;
    // A draw of 0 falls on the first eligible server.
    expect(withRandom(0, () => policy.select([a, b], makeQuery()))).toBe(a);
    factors.weighted = 1.5; // bound per server: 1.5 × (10 + 0 + 1) / 2 = 8.25
    expect(withRandom(0, () => policy.select([a, b], makeQuery()))).toBe(b);
    // Every draw goes to b while a is over its bound.
    expect(withRandom(0.999, () => policy.select([a, b], makeQuery()))).toBe(b);
  });

  it('counts the query being placed, compares without rounding, and lets a server sit exactly on its bound', () => {
    const factors = new BalancingFactors();
    factors.weighted = 1.5;
    const policy = new WeightedRandomPolicy(factors);
    const [a, b] = [server(1, 1), server(2, 1)];
    a.outstanding = 3; // bound 1.5 × (3 + 1) / 2 = 3: on it, still eligible
    expect(withRandom(0, () => policy.select([a, b], makeQuery()))).toBe(a);
    a.outstanding = 4; // bound 1.5 × 5 / 2 = 3.75 (not rounded up to 4): over it
    expect(withRandom(0, () => policy.select([a, b], makeQuery()))).toBe(b);
  });

  it("scales each server's bound by its share of the weight, and counts only up servers", () => {
    const factors = new BalancingFactors();
    factors.weighted = 1;
    const policy = new WeightedRandomPolicy(factors);
    const [light, heavy, down] = [server(1, 1), server(2, 3), server(3, 4)];
    down.availability = 'down';
    down.outstanding = 1000;
    light.outstanding = 2; // load 2 + 1 + 1 = 4 over weight 4 (the down server left out): light may have 1, heavy 3
    heavy.outstanding = 1;
    expect(withRandom(0, () => policy.select([light, heavy, down], makeQuery()))).toBe(heavy);
    light.outstanding = 1; // load 3: light's bound 0.75
    expect(withRandom(0, () => policy.select([light, heavy, down], makeQuery()))).toBe(heavy);
    light.outstanding = 0;
    expect(withRandom(0, () => policy.select([light, heavy, down], makeQuery()))).toBe(light);
  });

  it('is not bound by the consistent-hashing factor', () => {
    const factors = new BalancingFactors();
    factors.consistentHashing = 1;
    const [a, b] = [server(1, 1), server(2, 1)];
    a.outstanding = 10;
    expect(withRandom(0, () => new WeightedRandomPolicy(factors).select([a, b], makeQuery()))).toBe(a);
  });

  it('always leaves a server while one is up: with f >= 1 the bounds add up to more than the load', () => {
    // Σ bound = f × (load + 1) > load, so some server is within its own; dnsdist has no
    // fallback for "all over the bound" (it would return no server) because it cannot happen.
    const factors = new BalancingFactors();
    factors.weighted = 1;
    const policy = new WeightedRandomPolicy(factors);
    const servers = [server(1, 1), server(2, 2), server(3, 5)];
    const dq = makeQuery();
    for (let x = 0; x < 12; x++) {
      for (let y = 0; y < 12; y++) {
        for (let z = 0; z < 12; z++) {
          [servers[0]!.outstanding, servers[1]!.outstanding, servers[2]!.outstanding] = [x, y, z];
          for (const r of [0, 0.5, 0.999]) expect(withRandom(r, () => policy.select(servers, dq))).toBeDefined();
        }
      }
    }
  });

  it('gives no server when none is up, as without a factor', () => {
    const factors = new BalancingFactors();
    factors.weighted = 2;
    const a = server(1, 1);
    a.availability = 'down';
    expect(new WeightedRandomPolicy(factors).select([a], makeQuery())).toBeUndefined();
  });
});

describe('whashed with setWeightedBalancingFactor', () => {
  it('moves a name off its server while that server is over its bound, and back once it is not', () => {
    const factors = new BalancingFactors();
    const policy = new WeightedHashedPolicy(factors);
    const servers = [server(1, 1), server(2, 1)];
    const [a, b] = servers as [DownstreamServer, DownstreamServer];
    const name = nameFor(policy, servers, a);
    a.outstanding = 10;
    expect(policy.select(servers, makeQuery({ name }))).toBe(a);
    factors.weighted = 1.5;
    expect(policy.select(servers, makeQuery({ name }))).toBe(b);
    a.outstanding = 3;
    expect(policy.select(servers, makeQuery({ name }))).toBe(a);
  });
});

describe('chashed with setConsistentHashingBalancingFactor', () => {
  it('sends a name to the next server on the ring while its own is over its bound', () => {
    const factors = new BalancingFactors();
    const policy = new ConsistentHashPolicy(factors);
    const servers = [server(1, 100), server(2, 100), server(3, 100)];
    const [a, b, c] = servers as [DownstreamServer, DownstreamServer, DownstreamServer];
    const name = nameFor(policy, servers, a);
    [a.outstanding, b.outstanding, c.outstanding] = [30, 10, 10];
    expect(policy.select(servers, makeQuery({ name }))).toBe(a);
    factors.weighted = 1.5; // the weighted factor does not bind chashed
    expect(policy.select(servers, makeQuery({ name }))).toBe(a);
    factors.consistentHashing = 1.5; // bound 1.5 × (30 + 10 + 10 + 1) / 3 = 25.5
    const moved = policy.select(servers, makeQuery({ name }));
    expect(moved).toBeDefined();
    expect(moved).not.toBe(a);
    // The name stays on that one server (consistent), and comes back when the load drops.
    expect(policy.select(servers, makeQuery({ name }))).toBe(moved);
    a.outstanding = 21; // bound 1.5 × 42 / 3 = 21: on it
    expect(policy.select(servers, makeQuery({ name }))).toBe(a);
  });
});

describe('balancing factor values', () => {
  it('accepts factors of at least 1 and 0 (no bound); refuses the rest with dnsdist text and keeps the previous value', () => {
    const factors = new BalancingFactors();
    for (const v of [0, 1, 1.0001, 2.5, 0]) {
      factors.weighted = v;
      factors.consistentHashing = v;
      expect([factors.weighted, factors.consistentHashing]).toEqual([v, v]);
    }
    factors.weighted = 1.5;
    for (const v of [0.5, 0.999, -1, Number.NaN]) {
      expect(() => (factors.weighted = v)).toThrow(BalancingFactorError);
      expect(() => (factors.weighted = v)).toThrow(
        `Invalid value passed to setWeightedBalancingFactor()! The factor must be at least 1.0, or 0 for no bound; got ${v}`,
      );
      expect(() => (factors.consistentHashing = v)).toThrow('Invalid value passed to setConsistentHashingBalancingFactor()!');
    }
    expect(factors.weighted).toBe(1.5);
    expect(factors.consistentHashing).toBe(0);
  });

  it('reaches the policies through the Lua functions, and a refused value is a configuration error', () => {
    const app = new DnsdistApp({ configFile: '/nonexistent/dnsdist.conf', output: () => {} });
    const factors = app.proxy.settings.balancingFactors;
    app.runtime.runString('setWeightedBalancingFactor(1.25) setConsistentHashingBalancingFactor(2)');
    expect([factors.weighted, factors.consistentHashing]).toEqual([1.25, 2]);
    expect(() => app.runtime.runString('setWeightedBalancingFactor(0.5)')).toThrow(
      /Invalid value passed to setWeightedBalancingFactor\(\)!/,
    );
    expect(() => app.runtime.runString('setConsistentHashingBalancingFactor(-1)')).toThrow(
      /Invalid value passed to setConsistentHashingBalancingFactor\(\)!/,
    );
    expect([factors.weighted, factors.consistentHashing]).toEqual([1.25, 2]);
  });
});

describeDnsdist('balancing factor values against dnsdist 1.7.3', () => {
  it('refuses the same values with the same text; 0 (no bound) is accepted as later dnsdist releases do (PowerDNS/pdns#14929), where 1.7.3 refused it', () => {
    const refusedBy = (fn: string, text: string): boolean => text.includes(`Invalid value passed to ${fn}()!`);
    for (const fn of ['setWeightedBalancingFactor', 'setConsistentHashingBalancingFactor']) {
      for (const [lua, theirs, ours] of [
        ['1', false, false],
        ['1.5', false, false],
        ['0.5', true, true],
        ['-1', true, true],
        ['0/0', true, true],
        ['0', true, false],
      ] as const) {
        const ref = dnsdistCheckConfig(`${fn}(${lua})\n`);
        expect({ fn, lua, refused: refusedBy(fn, `${ref.stdout}${ref.stderr}`) }).toEqual({ fn, lua, refused: theirs });
        const app = new DnsdistApp({ configFile: '/nonexistent/dnsdist.conf', output: () => {} });
        let message = '';
        try {
          app.runtime.runString(`${fn}(${lua})`);
        } catch (err) {
          message = (err as Error).message;
        }
        expect({ fn, lua, refused: refusedBy(fn, message) }).toEqual({ fn, lua, refused: ours });
      }
    }
  });
});
