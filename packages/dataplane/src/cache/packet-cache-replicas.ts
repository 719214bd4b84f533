/**
 * What a packet cache's handle in the control plane of several data-plane
 * workers reaches: the copies of that cache the workers hold, one each.
 * Implemented by workers/worker-caches.ts; the cache itself only knows this
 * shape, so the dependency runs from the workers to the cache.
 */
import type { DNSName } from '@dnsdist-ts/dns';
import type { PacketCacheStats } from './packet-cache-console-texts.js';

export interface PacketCacheReplicas {
  /**
   * Every copy's counters added up; the entries are the fullest copy's
   * (the copies share their entries: one cache of maxEntries).
   */
  getStats(): PacketCacheStats;
  /** `pc:expunge(upTo)` on every copy (each keeps at most `upTo`); the most any copy removed. */
  expunge(upTo: number): number;
  /** `pc:expungeByName(...)` on every copy; the most any copy removed. */
  expungeByName(name: DNSName, qtype: number, suffixMatch: boolean): number;
  /** `pc:purgeExpired(upTo)` on every copy; the most any copy removed. */
  purgeExpired(upTo: number): number;
  /** `pc:dump(file)`: one copy's entries; the console text. */
  dump(path: string): string;
}
