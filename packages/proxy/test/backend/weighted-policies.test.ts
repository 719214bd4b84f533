/**
 * wrandom / whashed: the share of each server, with dnsdist's cap on the
 * running sum of the weights (a C int): two servers of weight 2,000,000,000
 * do not split the queries evenly, the first gets 2e9 / (2^31-1) of them.
 */
import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import { WeightedRandomPolicy } from '@dnsdist-ts/dataplane/backend/policies/weighted-random.js';
import { makeQuery } from '../rules/query-fixture.js';
import { policyTestServer as server } from './server-fixture.js';

/** How often each server is picked when the random number walks [0, 1) in `steps` even steps. */
function shares(servers: DownstreamServer[], steps: number): number[] {
  const policy = new WeightedRandomPolicy();
  const counts = servers.map(() => 0);
  const random = Math.random;
  let next = 0;
  Math.random = () => next;
  try {
    for (let i = 0; i < steps; i++) {
      next = i / steps;
      counts[servers.indexOf(policy.select(servers, makeQuery())!)]!++;
    }
  } finally {
    Math.random = random;
  }
  return counts;
}

describe('wrandom', () => {
  it('shares in proportion to the weights', () => {
    expect(shares([server(1, 1), server(2, 3)], 1000)).toEqual([250, 750]);
  });

  it('caps the running sum of the weights at 2^31-1, as dnsdist: the server crossing it gets what is left', () => {
    const [first, second] = shares([server(1, 2_000_000_000), server(2, 2_000_000_000)], 10_000);
    expect(first).toBe(Math.ceil((10_000 * 2_000_000_000) / 2147483647));
    expect(second).toBe(10_000 - first!);
    const [a, b, c] = shares([server(1, 2_147_483_000), server(2, 2_000_000_000), server(3, 5)], 1000);
    expect(a).toBe(1000);
    expect(b).toBe(0);
    expect(c).toBe(0);
  });
});
