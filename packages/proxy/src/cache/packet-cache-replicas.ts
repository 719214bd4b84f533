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
   * Every copy's counters and entries added up; maxEntries is the
   * configured size times the number of copies (what they hold together).
   */
  getStats(): PacketCacheStats;
  /** `pc:expunge(upTo)` on every copy (each keeps at most `upTo`); the number removed in all. */
  expunge(upTo: number): number;
  /** `pc:expungeByName(...)` on every copy; the number removed in all. */
  expungeByName(name: DNSName, qtype: number, suffixMatch: boolean): number;
  /** `pc:purgeExpired(upTo)` on every copy; the number removed in all. */
  purgeExpired(upTo: number): number;
  /** `pc:dump(file)`: every copy's entries in one file; the console text. */
  dump(path: string): string;
}
