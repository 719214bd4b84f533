/** dnsdist's packet cache: newPacketCache(), getPool(n):setCache(pc) and the pc:* console methods. */
export { PacketCache, PACKET_CACHE_COUNTERS, monotonicSeconds, type SecondsClock, type CacheInsertOptions } from './packet-cache.js';
export {
  resolvePacketCacheSettings,
  EDNS_COOKIE_OPTION,
  type PacketCacheOptions,
  type PacketCacheSettings,
} from './packet-cache-options.js';
export {
  formatPacketCacheStats,
  formatExpungedRecords,
  formatShardReductionNotice,
  formatShardReductionWarning,
  type PacketCacheStats,
} from './packet-cache-console-texts.js';
export type { PacketCacheReplicas } from './packet-cache-replicas.js';
export type { PacketCacheReplication } from './packet-cache-replication.js';
export { formatDumpLine, writePacketCacheDump, appendPacketCacheDump } from './packet-cache-dump.js';
export { PacketCacheOptionError, PacketCacheSizeError, PacketCacheKeyError } from './packet-cache-errors.js';
export { CacheEntry } from './cache-entry.js';
export { computeCacheKey } from './cache-key.js';
export { scanResponseTtls, ageResponseTtls, setResponseTtls, type ResponseTtlScan } from './response-ttls.js';
export { readClientSubnet, clientSubnetsEqual, CLIENT_SUBNET_SIZE } from './client-subnet.js';
