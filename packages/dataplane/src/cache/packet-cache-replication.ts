/**
 * How a packet cache's copies in several data-plane workers stay one
 * cache: each copy reports what it stores, and takes what the others
 * stored before it misses. Implemented by workers/worker-cache-sharing.ts;
 * the cache itself only knows this shape, so the dependency runs from the
 * workers to the cache.
 */
import type { CacheEntry } from './cache-entry.js';

export interface PacketCacheReplication {
  /**
   * `entry` was just stored under `key` by this copy's insert(), before
   * the answer goes to the client. Called on the query path: no lock, no
   * message.
   */
  inserted(key: number, entry: CacheEntry): void;
  /**
   * Adopt what the other copies stored and this one has not taken yet
   * (called on a miss, before the query goes to a backend). Returns
   * whether anything was adopted.
   */
  catchUp(): boolean;
}
