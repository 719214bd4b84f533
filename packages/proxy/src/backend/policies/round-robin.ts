import type { DNSQuestion } from '../../query/dns-question.js';
import type { DownstreamServer } from '../downstream-server.js';
import type { ServerPolicy } from './server-policy.js';

/**
 * Each up server in turn. With no server up it returns none, unless
 * `failOnNoServer` is false (dnsdist's setRoundRobinFailOnNoServer(false)
 * default), in which case it cycles over all servers.
 */
export class RoundRobinPolicy implements ServerPolicy {
  readonly name = 'roundrobin';
  #counter = 0;
  failOnNoServer = false;

  select(servers: readonly DownstreamServer[], _dq: DNSQuestion): DownstreamServer | undefined {
    const n = servers.length;
    if (n === 0) return undefined;
    for (let i = 0; i < n; i++) {
      const s = servers[(this.#counter + i) % n]!;
      if (s.isUp()) {
        this.#counter = (this.#counter + i + 1) % n;
        return s;
      }
    }
    if (this.failOnNoServer) return undefined;
    const s = servers[this.#counter % n]!;
    this.#counter = (this.#counter + 1) % n;
    return s;
  }
}
