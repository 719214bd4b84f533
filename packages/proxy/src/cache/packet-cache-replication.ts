/**
 * Where a packet cache reports what it stored, so that other copies of the
 * same cache (one per data-plane worker) can adopt it: implemented by
 * workers/worker-cache-sharing.ts; the cache itself only knows this shape,
 * so the dependency runs from the workers to the cache.
 */
import type { CacheEntry } from './cache-entry.js';

export interface PacketCacheReplication {
  /**
   * `entry` was just stored under `key` by this copy's insert(). Called on
   * the query path: the implementation queues it and returns (it must not
   * block nor send a message per call).
   */
  inserted(key: number, entry: CacheEntry): void;
}
