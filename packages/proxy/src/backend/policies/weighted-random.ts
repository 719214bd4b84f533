import type { DNSQuestion } from '../../query/dns-question.js';
import type { DownstreamServer } from '../downstream-server.js';
import { qnameHash } from './qname-hash.js';
import type { ServerPolicy } from './server-policy.js';

/** Pick among up servers in proportion to their weight, by a number in [0, total weight). */
export function pickByWeight(servers: readonly DownstreamServer[], value: (total: number) => number): DownstreamServer | undefined {
  let total = 0;
  for (const s of servers) if (s.isUp()) total += s.config.weight;
  if (total === 0) return undefined;
  let r = value(total);
  for (const s of servers) {
    if (!s.isUp()) continue;
    r -= s.config.weight;
    if (r < 0) return s;
  }
  return undefined;
}

/** dnsdist's wrandom: random, weighted. */
export class WeightedRandomPolicy implements ServerPolicy {
  readonly name = 'wrandom';
  select(servers: readonly DownstreamServer[], _dq: DNSQuestion): DownstreamServer | undefined {
    return pickByWeight(servers, (total) => Math.floor(Math.random() * total));
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
