import type { DNSQuestion } from '../../query/dns-question.js';
import type { DownstreamServer } from '../downstream-server.js';
import type { ServerPolicy } from './server-policy.js';

/** dnsdist's default: fewest in-flight queries, then lowest order, then lowest latency. */
export class LeastOutstandingPolicy implements ServerPolicy {
  readonly name = 'leastOutstanding';

  select(servers: readonly DownstreamServer[], _dq: DNSQuestion): DownstreamServer | undefined {
    let best: DownstreamServer | undefined;
    for (const s of servers) {
      if (!s.isUp()) continue;
      if (
        best === undefined ||
        s.outstanding < best.outstanding ||
        (s.outstanding === best.outstanding &&
          (s.config.order < best.config.order || (s.config.order === best.config.order && s.latencyUsec < best.latencyUsec)))
      ) {
        best = s;
      }
    }
    return best;
  }
}
