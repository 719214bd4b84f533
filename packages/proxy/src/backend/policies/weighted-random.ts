import type { DNSQuestion } from '../../query/dns-question.js';
import type { DownstreamServer } from '../downstream-server.js';
import { qnameHash } from './qname-hash.js';
import type { ServerPolicy } from './server-policy.js';

/** dnsdist sums the weights in a C int: the running sum stops at its largest value. */
const WEIGHT_SUM_MAX = 2147483647;

function addWeight(sum: number, weight: number): number {
  return weight > WEIGHT_SUM_MAX - sum ? WEIGHT_SUM_MAX : sum + weight;
}

/**
 * Pick among up servers in proportion to their weight, by a number in
 * [0, total weight). As in dnsdist, the running sum of the weights is capped
 * at 2^31-1: when the weights add up to more, the server that crosses the cap
 * only gets what is left below it, and the ones after it nothing.
 */
export function pickByWeight(servers: readonly DownstreamServer[], value: (total: number) => number): DownstreamServer | undefined {
  let total = 0;
  for (const s of servers) if (s.isUp()) total = addWeight(total, s.config.weight);
  if (total === 0) return undefined;
  const r = value(total);
  let sum = 0;
  for (const s of servers) {
    if (!s.isUp()) continue;
    sum = addWeight(sum, s.config.weight);
    if (r < sum) return s;
  }
  return undefined;
}

/** dnsdist's wrandom: random, weighted. */
export class WeightedRandomPolicy implements ServerPolicy {
  readonly name = 'wrandom';
  readonly #random: () => number;

  /** @param random a number in [0, 1) per query; Math.random (looked up at each call) unless a test gives a seeded one. */
  constructor(random: () => number = () => Math.random()) {
    this.#random = random;
  }

  select(servers: readonly DownstreamServer[], _dq: DNSQuestion): DownstreamServer | undefined {
    return pickByWeight(servers, (total) => Math.floor(this.#random() * total));
  }
}

/** dnsdist's whashed: weighted, by a hash of the query name (same name, same server). */
export class WeightedHashedPolicy implements ServerPolicy {
  readonly name = 'whashed';
  perturbation = 0;
  select(servers: readonly DownstreamServer[], dq: DNSQuestion): DownstreamServer | undefined {
    const h = qnameHash(dq.view.qname, this.perturbation);
    return pickByWeight(servers, (total) => h % total);
  }
}
