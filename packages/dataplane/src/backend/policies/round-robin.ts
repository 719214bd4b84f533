import type { DNSQuestion } from '../../query/dns-question.js';
import type { DownstreamServer } from '../downstream-server.js';
import type { ServerPolicy } from './server-policy.js';

/**
 * Each up server in turn, as dnsdist does it: one position for the whole
 * process (every pool using the policy advances it), taken modulo the
 * number of up servers. With no server up it returns none, unless
 * `failOnNoServer` is false (dnsdist's setRoundRobinFailOnNoServer(false)
 * default), in which case it cycles over all servers.
 */
export class RoundRobinPolicy implements ServerPolicy {
  readonly name = 'roundrobin';
  /** Element 0: the next position; shared memory when data-plane workers share it (server/process-wide-counts.ts). */
  readonly #position: Uint32Array;
  failOnNoServer = false;

  constructor(position: Uint32Array = new Uint32Array(1)) {
    this.#position = position;
  }

  select(servers: readonly DownstreamServer[], _dq: DNSQuestion): DownstreamServer | undefined {
    const n = servers.length;
    if (n === 0) return undefined;
    let up = 0;
    for (let i = 0; i < n; i++) if (servers[i]!.isUp()) up++;
    if (up === 0 && this.failOnNoServer) return undefined;
    // One atomic add per query: the workers' queries take turns as one loop's would.
    const turn = Atomics.add(this.#position, 0, 1) % (up === 0 ? n : up);
    if (up === 0) return servers[turn];
    for (let i = 0, k = 0; i < n; i++) {
      const s = servers[i]!;
      if (s.isUp() && k++ === turn) return s;
    }
    return undefined;
  }
}
