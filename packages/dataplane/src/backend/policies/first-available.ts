import type { DNSQuestion } from '../../query/dns-question.js';
import type { DownstreamServer } from '../downstream-server.js';
import { LeastOutstandingPolicy } from './least-outstanding.js';
import type { ServerPolicy } from './server-policy.js';

/** The first up server (lowest order) still under its qps limit; else leastOutstanding. */
export class FirstAvailablePolicy implements ServerPolicy {
  readonly name = 'firstAvailable';
  readonly #fallback = new LeastOutstandingPolicy();

  select(servers: readonly DownstreamServer[], dq: DNSQuestion): DownstreamServer | undefined {
    let best: DownstreamServer | undefined;
    for (const s of servers) {
      if (s.isUp() && s.qpsWouldAllow() && (best === undefined || s.config.order < best.config.order)) best = s;
    }
    return best ?? this.#fallback.select(servers, dq);
  }
}
