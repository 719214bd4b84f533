import type { DNSQuestion } from '../../query/dns-question.js';
import type { DownstreamServer } from '../downstream-server.js';

/**
 * A load-balancing policy (dnsdist's ServerPolicy): picks a backend among
 * a pool's servers for one query. `servers` is ordered by `order`, then
 * by position; policies must skip servers that are not up.
 */
export interface ServerPolicy {
  readonly name: string;
  select(servers: readonly DownstreamServer[], dq: DNSQuestion): DownstreamServer | undefined;
}
