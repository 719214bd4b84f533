import type { DNSQuestion } from '../../query/dns-question.js';
import type { DownstreamServer } from '../downstream-server.js';
import { BalancingFactors, loadPerWeight, withinBound } from './balancing-factors.js';
import { qnameHash } from './qname-hash.js';
import type { ServerPolicy } from './server-policy.js';

/**
 * dnsdist's chashed: consistent hashing of the query name onto a ring where
 * each server holds `weight` points, so adding or removing a server moves
 * only its share of names. The ring is rebuilt when the server set changes.
 * With setConsistentHashingBalancingFactor, a server over its bounded-load
 * limit is passed over like a down one: the name goes to the next eligible
 * server on the ring (dnsdist's "bounded loads"); none eligible, no server.
 */
export class ConsistentHashPolicy implements ServerPolicy {
  readonly name = 'chashed';
  perturbation = 0;
  readonly #factors: BalancingFactors;
  #ringFor: readonly DownstreamServer[] | undefined;
  #points = new Uint32Array(0);
  #owners: DownstreamServer[] = [];

  constructor(factors: BalancingFactors = new BalancingFactors()) {
    this.#factors = factors;
  }

  #rebuild(servers: readonly DownstreamServer[]): void {
    const pairs: Array<[number, DownstreamServer]> = [];
    for (const s of servers) {
      for (let i = 0; i < s.config.weight; i++) pairs.push([qnameHash(`${s.id}-${i}`, 0), s]);
    }
    pairs.sort((a, b) => a[0] - b[0]);
    this.#points = Uint32Array.from(pairs.map((p) => p[0]));
    this.#owners = pairs.map((p) => p[1]);
    this.#ringFor = servers;
  }

  select(servers: readonly DownstreamServer[], dq: DNSQuestion): DownstreamServer | undefined {
    return this.selectByHash(servers, qnameHash(dq.view.qname, this.perturbation));
  }

  /** The eligible server owning hash `h` on the ring (dnsdist_ffi_servers_list_chashed passes its own hash). */
  selectByHash(servers: readonly DownstreamServer[], h: number): DownstreamServer | undefined {
    // Pools hand out a new array whenever membership or weights change.
    if (this.#ringFor !== servers) this.#rebuild(servers);
    const n = this.#points.length;
    if (n === 0) return undefined;
    const perWeight = loadPerWeight(servers, this.#factors.consistentHashing);
    // First point >= h (binary search), then walk forward to an eligible server.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    for (let i = 0; i < n; i++) {
      const s = this.#owners[(lo + i) % n]!;
      if (withinBound(s, perWeight)) return s;
    }
    return undefined;
  }
}
