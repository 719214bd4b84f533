/**
 * What dnsdist 1.7.3 prints for the packet cache's console commands, so
 * the Lua binding can print exactly the same text.
 */

/** Counters of one packet cache, under the names `pc:getStats()` returns them. */
export interface PacketCacheStats {
  entries: number;
  maxEntries: number;
  hits: number;
  misses: number;
  deferredInserts: number;
  deferredLookups: number;
  lookupCollisions: number;
  insertCollisions: number;
  ttlTooShorts: number;
}

/** `pc:printStats()`. */
export function formatPacketCacheStats(stats: PacketCacheStats): string {
  return (
    `Entries: ${stats.entries}/${stats.maxEntries}\n` +
    `Hits: ${stats.hits}\n` +
    `Misses: ${stats.misses}\n` +
    `Deferred inserts: ${stats.deferredInserts}\n` +
    `Deferred lookups: ${stats.deferredLookups}\n` +
    `Lookup Collisions: ${stats.lookupCollisions}\n` +
    `Insert Collisions: ${stats.insertCollisions}\n` +
    `TTL Too Shorts: ${stats.ttlTooShorts}\n`
  );
}

/** `pc:expungeByName(...)` prints how many entries it removed. */
export function formatExpungedRecords(count: number): string {
  return `Expunged ${count} records\n`;
}

/**
 * The console line of `newPacketCache` when maxEntries is below the shard
 * count. The missing ")" after the first number is dnsdist's, and so is
 * the missing newline.
 */
export function formatShardReductionNotice(maxEntries: number, requestedShards: number): string {
  return (
    `The number of entries (${maxEntries} in the packet cache is smaller than the number of shards (${requestedShards}), ` +
    `decreasing the number of shards to ${maxEntries}`
  );
}

/** The same notice as dnsdist logs it (warning level). */
export function formatShardReductionWarning(maxEntries: number, requestedShards: number): string {
  return (
    `The number of entries (${maxEntries}) in the packet cache is smaller than the number of shards (${requestedShards}), ` +
    `decreasing the number of shards to ${maxEntries}`
  );
}
