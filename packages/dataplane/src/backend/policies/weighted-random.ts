import type { DNSQuestion } from '../../query/dns-question.js';
import type { DownstreamServer } from '../downstream-server.js';
import { BalancingFactors, loadPerWeight, withinBound } from './balancing-factors.js';
import { qnameHash } from './qname-hash.js';
import type { ServerPolicy } from './server-policy.js';

/** dnsdist sums the weights in a C int: the running sum stops at its largest value. */
const WEIGHT_SUM_MAX = 2147483647;

function addWeight(sum: number, weight: number): number {
  return weight > WEIGHT_SUM_MAX - sum ? WEIGHT_SUM_MAX : sum + weight;
}

function eligibleWeight(servers: readonly DownstreamServer[], perWeight: number): number {
  let total = 0;
  for (const s of servers) if (withinBound(s, perWeight)) total = addWeight(total, s.config.weight);
  return total;
}

function serverAt(servers: readonly DownstreamServer[], perWeight: number, r: number): DownstreamServer | undefined {
  let sum = 0;
  for (const s of servers) {
    if (!withinBound(s, perWeight)) continue;
    sum = addWeight(sum, s.config.weight);
    if (r < sum) return s;
  }
  return undefined;
}

/*
 * Pick among the eligible servers (up, and within the bounded-load limit when
 * a balancing factor is set) in proportion to their weight. As in dnsdist, the
 * running sum of the weights is capped at 2^31-1: when the weights add up to
 * more, the server that crosses the cap only gets what is left below it, and
 * the ones after it nothing. No server is eligible: undefined (dnsdist then
 * drops the query or answers ServFail per setServFailWhenNoServer; it does not
 * fall back to an over-loaded server). Two functions rather than one taking a
 * callback: these run per query and must not allocate.
 */

/** By a uniform number in [0, 1): `Math.floor(fraction × total weight)`. */
export function pickByWeightFraction(servers: readonly DownstreamServer[], fraction: number, factor = 0): DownstreamServer | undefined {
  const perWeight = loadPerWeight(servers, factor);
  const total = eligibleWeight(servers, perWeight);
  return total === 0 ? undefined : serverAt(servers, perWeight, Math.floor(fraction * total));
}

/** By a 32-bit hash: `hash mod total weight`, so the same hash lands on the same server while the set is unchanged. */
export function pickByWeightHash(servers: readonly DownstreamServer[], hash: number, factor = 0): DownstreamServer | undefined {
  const perWeight = loadPerWeight(servers, factor);
  const total = eligibleWeight(servers, perWeight);
  return total === 0 ? undefined : serverAt(servers, perWeight, hash % total);
}

/** dnsdist's wrandom: random, weighted, bounded by setWeightedBalancingFactor. */
export class WeightedRandomPolicy implements ServerPolicy {
  readonly name = 'wrandom';
  readonly #factors: BalancingFactors;
  readonly #random: () => number;

  /**
   * @param factors the bounded-load factors the settings own (setWeightedBalancingFactor).
   * @param random a number in [0, 1) per query; Math.random (looked up at each call) unless a test gives a seeded one.
   */
  constructor(factors: BalancingFactors = new BalancingFactors(), random: () => number = () => Math.random()) {
    this.#factors = factors;
    this.#random = random;
  }

  select(servers: readonly DownstreamServer[], _dq: DNSQuestion): DownstreamServer | undefined {
    return pickByWeightFraction(servers, this.#random(), this.#factors.weighted);
  }
}

/** dnsdist's whashed: weighted, by a hash of the query name (same name, same server), bounded by setWeightedBalancingFactor. */
export class WeightedHashedPolicy implements ServerPolicy {
  readonly name = 'whashed';
  perturbation = 0;
  readonly #factors: BalancingFactors;
  constructor(factors: BalancingFactors = new BalancingFactors()) {
    this.#factors = factors;
  }
  select(servers: readonly DownstreamServer[], dq: DNSQuestion): DownstreamServer | undefined {
    return pickByWeightHash(servers, qnameHash(dq.view.qname, this.perturbation), this.#factors.weighted);
  }
}
