import type { DNSQuestion } from '../../query/dns-question.js';
import type { DownstreamServer } from '../downstream-server.js';
import { qnameHash } from './qname-hash.js';
import type { ServerPolicy } from './server-policy.js';

/**
 * dnsdist's chashed: consistent hashing of the query name onto a ring where
 * each server holds `weight` points, so adding or removing a server moves
 * only its share of names. The ring is rebuilt when the server set changes.
 */
export class ConsistentHashPolicy implements ServerPolicy {
  readonly name = 'chashed';
  perturbation = 0;
  #ringFor: readonly DownstreamServer[] | undefined;
  #points = new Uint32Array(0);
  #owners: DownstreamServer[] = [];

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

  /** The up server owning hash `h` on the ring (dnsdist_ffi_servers_list_chashed passes its own hash). */
  selectByHash(servers: readonly DownstreamServer[], h: number): DownstreamServer | undefined {
    // Pools hand out a new array whenever membership or weights change.
    if (this.#ringFor !== servers) this.#rebuild(servers);
    const n = this.#points.length;
    if (n === 0) return undefined;
    // First point >= h (binary search), then walk forward to an up server.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    for (let i = 0; i < n; i++) {
      const s = this.#owners[(lo + i) % n]!;
      if (s.isUp()) return s;
    }
    return undefined;
  }
}
