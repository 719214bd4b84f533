import type { DownstreamServer } from './downstream-server.js';
import type { ServerPolicy } from './policies/server-policy.js';

/** What a pool needs of a packet cache (the cache module implements it). */
export interface PoolCache {
  toString(): string;
}

/**
 * A named set of backends (dnsdist's ServerPool), with an optional policy
 * of its own and an optional packet cache. "" is the default pool.
 */
export class ServerPool<Cache extends PoolCache = PoolCache> {
  readonly name: string;
  /** Sorted by order (stable); replaced, never mutated, so policies can key on identity. */
  #servers: readonly DownstreamServer[] = [];
  policy: ServerPolicy | undefined;
  cache: Cache | undefined;
  /**
   * ServerPool:setECS(true): a query for this pool that finds no backend
   * still gets its ECS option before the cache lookup, so it can be
   * answered from entries its backends' answers made.
   */
  ecs = false;

  constructor(name: string) {
    this.name = name;
  }

  get servers(): readonly DownstreamServer[] {
    return this.#servers;
  }

  add(server: DownstreamServer): void {
    if (this.#servers.includes(server)) return;
    this.#servers = [...this.#servers, server].sort((a, b) => a.config.order - b.config.order);
  }

  remove(server: DownstreamServer): void {
    this.#servers = this.#servers.filter((s) => s !== server);
  }

  /** Re-sort and hand policies a fresh array (after order or weight changes). */
  refresh(): void {
    this.#servers = [...this.#servers].sort((a, b) => a.config.order - b.config.order);
  }

  countUp(): number {
    let n = 0;
    for (const s of this.#servers) if (s.isUp()) n++;
    return n;
  }

  toString(): string {
    return this.name;
  }
}
