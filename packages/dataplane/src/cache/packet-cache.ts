/**
 * dnsdist 1.7.3's packet cache (DNSDistPacketCache): whole responses
 * stored under a hash of the query, served back with the query's ID and
 * TTLs decreased by their age.
 *
 * The query path uses it in two steps, as dnsdist does:
 *
 * ```ts
 * const key = cache.computeKey(dq);
 * const hit = cache.lookup(dq, key, backendAvailable ? 0 : staleCacheEntriesTTL);
 * if (hit) respond(hit); else forward(dq, key);
 * // ...when the backend answers:
 * cache.insert(dq, key, response, length);
 * ```
 *
 * The key does not include the pool: as in dnsdist, pools that share one
 * cache object share its entries.
 */
import { DNSName, QType } from '@dnsdist-ts/dns';
import type { DNSQuestion } from '../query/dns-question.js';
import { CacheEntry } from './cache-entry.js';
import { computeCacheKey } from './cache-key.js';
import { CLIENT_SUBNET_SIZE, clientSubnetsEqual, readClientSubnet } from './client-subnet.js';
import { formatPacketCacheStats, formatShardReductionNotice, type PacketCacheStats } from './packet-cache-console-texts.js';
import { formatDumpLine, writePacketCacheDump } from './packet-cache-dump.js';
import { PacketCacheKeyError } from './packet-cache-errors.js';
import { resolvePacketCacheSettings, type PacketCacheOptions, type PacketCacheSettings } from './packet-cache-options.js';
import type { PacketCacheReplicas } from './packet-cache-replicas.js';
import type { PacketCacheReplication } from './packet-cache-replication.js';
import { ageResponseTtls, scanResponseTtls, setResponseTtls, type ResponseTtlScan } from './response-ttls.js';

/** A clock in whole seconds that never goes backwards. */
export type SecondsClock = () => number;

/**
 * Default clock: monotonic (performance.now), anchored at the Unix epoch
 * when the process started, so `dump`'s "added" column reads as a date.
 */
export function monotonicSeconds(): number {
  return Math.floor((performance.timeOrigin + performance.now()) / 1000);
}

/** Per-insert overrides. */
export interface CacheInsertOptions {
  /** TTL for a SERVFAIL/REFUSED answer instead of `temporaryFailureTTL` (SetTempFailureCacheTTLAction). */
  tempFailureTTL?: number;
  /**
   * The query's header flags as they were at lookup. Defaults to the flags
   * now in `dq.packet`; pass them when the header was changed after the
   * lookup (e.g. the CD bit set for the backend), or the entry would never match.
   */
  queryFlags?: number;
  /**
   * Store the entry for every client, whatever ECS subnet the query carries:
   * the backend answered with scope 0 (dnsdist's zero-scope feature).
   */
  withoutSubnet?: boolean;
}

const HEADER_SIZE = 12;
const RCODE_NOERROR = 0;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_REFUSED = 5;

/** buf[start..end) equals `wire`, ASCII case folded. */
function sameNameFolded(wire: Uint8Array, buf: Uint8Array, start: number, end: number): boolean {
  if (wire.length !== end - start) return false;
  for (let i = 0; i < wire.length; i++) {
    let a = wire[i]!;
    let b = buf[start + i]!;
    if (a === b) continue;
    if (a >= 0x41 && a <= 0x5a) a |= 0x20;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (a !== b) return false;
  }
  return true;
}

function queryFlagsOf(dq: DNSQuestion): number {
  return (dq.packet[2]! << 8) | dq.packet[3]!;
}

/** The counters a packet cache keeps, in the order of its counter slots. */
export const PACKET_CACHE_COUNTERS = ['hits', 'misses', 'lookupCollisions', 'insertCollisions', 'ttlTooShorts'] as const;

export class PacketCache {
  /** Every option, resolved. */
  readonly settings: PacketCacheSettings;
  readonly #shards: Map<number, CacheEntry>[];
  readonly #maxPerShard: number;
  readonly #now: SecondsClock;
  /** Scratch space of the hot path, reused by every call. */
  readonly #scan: ResponseTtlScan = { minTtl: -1, soaInAuthority: false };
  readonly #subnet = new Uint8Array(CLIENT_SUBNET_SIZE);
  /**
   * hits, misses, lookup collisions, insert collisions, TTLs too short
   * (the PACKET_CACHE_COUNTERS order). Its own array, or with data-plane
   * workers this worker's slots in shared memory, which the control plane
   * adds up when it reads (workers/worker-caches.ts): no copy lags them.
   */
  #counts: Float64Array<ArrayBufferLike> = new Float64Array(PACKET_CACHE_COUNTERS.length);
  /**
   * With data-plane workers, this worker's entry-count cell in shared
   * memory (countEntriesInto), kept equal to the entries at every change:
   * the control plane reads it at any moment, and the regression tests read
   * the count right after the query that stored an entry. Unset with one
   * worker, where getStats() counts the shards.
   */
  #entriesCell: Float64Array<ArrayBufferLike> | undefined;
  /**
   * Set in the control plane of several data-plane workers, where this
   * object is the configuration's handle on the copies the workers hold
   * (workers/worker-caches.ts): its statistics are then theirs, summed,
   * and the console methods act on theirs through it. Unset, the cache is
   * the one that answers.
   */
  replicas: PacketCacheReplicas | undefined;
  /**
   * Set in each data-plane worker of several (workers/worker-cache-sharing.ts):
   * told of every entry this copy stores, which the other workers' copies
   * then adopt(), and asked on a miss for what they stored. Unset with
   * one worker: lookup() and insert() pay one test for it.
   */
  replication: PacketCacheReplication | undefined;

  /**
   * `newPacketCache(maxEntries, options)`.
   *
   * @param now clock in whole seconds (tests inject one); defaults to monotonicSeconds.
   * @throws PacketCacheSizeError, PacketCacheOptionError (naming the key) on bad arguments.
   */
  constructor(maxEntries: number, options?: PacketCacheOptions | Readonly<Record<string, unknown>>, now: SecondsClock = monotonicSeconds) {
    this.settings = resolvePacketCacheSettings(maxEntries, options);
    this.#now = now;
    this.#maxPerShard = Math.floor(this.settings.maxEntries / this.settings.numberOfShards);
    this.#shards = [];
    for (let i = 0; i < this.settings.numberOfShards; i++) this.#shards.push(new Map());
  }

  get maxEntries(): number {
    return this.settings.maxEntries;
  }

  /** newPacketCache{parseECS=true}: entries remember and compare the query's ECS subnet. */
  get parseECS(): boolean {
    return this.settings.parseECS;
  }

  /** Does the query carry an ECS option the cache reads (dnsdist's getClientSubnet)? Allocates nothing. */
  hasClientSubnet(dq: DNSQuestion): boolean {
    return readClientSubnet(dq.packet, dq.length, dq.view.qnameEnd, this.#subnet);
  }

  /** Whether the maintenance tick should keep expired entries while a pool using this cache has no backend up. */
  get keepStaleData(): boolean {
    return this.settings.keepStaleData;
  }

  /**
   * What `newPacketCache` prints on the console when it had to lower the
   * shard count to maxEntries (see formatShardReductionWarning for the log line);
   * undefined otherwise.
   */
  get creationNotice(): string | undefined {
    const { maxEntries, requestedShards } = this.settings;
    return maxEntries < requestedShards ? formatShardReductionNotice(maxEntries, requestedShards) : undefined;
  }

  /**
   * Cache key of the query: header without ID, lower-cased qname, the rest
   * of the packet (skipped EDNS options excepted) and the transport.
   * Allocates nothing.
   *
   * @throws PacketCacheKeyError when `dq.view` did not parse a question.
   */
  computeKey(dq: DNSQuestion): number {
    const view = dq.view;
    if (!view.valid || view.qnameEnd > dq.length) {
      throw new PacketCacheKeyError(
        dq.length,
        view.valid ? 'the question lies beyond the packet length' : 'the question could not be parsed',
      );
    }
    return computeCacheKey(dq.packet, dq.length, view.qnameEnd, view.qnameLower, dq.transport === 'udp', this.settings.optionsToSkip);
  }

  /**
   * The cached answer for `dq` under `key`, as a new buffer: the stored
   * response with the query's ID and qname (in the query's case), TTLs
   * decreased by the entry's age unless `dontAge`.
   *
   * An entry expired less than `allowExpired` seconds ago is still served,
   * with every TTL set to `staleTTL`: the query path passes dnsdist's
   * `setStaleCacheEntriesTTL` value when the pool has no backend up, 0 otherwise.
   *
   * Counts a miss when there is no entry or it is too old, a lookup
   * collision (and no miss, as in dnsdist) when the entry belongs to a
   * different query, and a hit otherwise. The only allocation is the
   * returned buffer.
   */
  lookup(dq: DNSQuestion, key: number, allowExpired = 0): Buffer | undefined {
    const shard = this.#shards[key % this.#shards.length]!;
    let entry = shard.get(key);
    const replication = this.replication;
    // With workers, an entry another worker stored (before its client had the answer) may not be adopted yet: take it now.
    if (replication !== undefined && (entry === undefined || entry.validity <= this.#now()) && replication.catchUp()) {
      entry = shard.get(key);
    }
    if (entry === undefined) {
      this.#counts[1]!++;
      return undefined;
    }
    const now = this.#now();
    let stale = false;
    if (entry.validity <= now) {
      if (now - entry.validity >= allowExpired) {
        this.#counts[1]!++;
        return undefined;
      }
      stale = true;
    }
    if (!this.#matches(entry, dq, queryFlagsOf(dq))) {
      this.#counts[2]!++;
      return undefined;
    }

    const stored = entry.response;
    const length = stored.length;
    const qnameEnd = dq.view.qnameEnd;
    if (length > HEADER_SIZE && length < qnameEnd) return undefined;
    const out = Buffer.allocUnsafe(length);
    out.set(stored);
    const packet = dq.packet;
    out[0] = packet[0]!;
    out[1] = packet[1]!;
    if (length === HEADER_SIZE) {
      this.#counts[0]!++;
      return out;
    }
    // The client sees its own spelling of the name (0x20 case randomisation survives a hit).
    for (let i = HEADER_SIZE; i < qnameEnd; i++) out[i] = packet[i]!;
    if (!this.settings.dontAge) {
      if (stale) setResponseTtls(out, length, this.settings.staleTTL);
      else ageResponseTtls(out, length, now - entry.added);
    }
    this.#counts[0]!++;
    return out;
  }

  /**
   * Store the backend's answer `response[0..length)` to `dq` under `key`
   * (the key its lookup used). Returns whether it was stored.
   *
   * As in dnsdist 1.7.3: SERVFAIL and REFUSED live `temporaryFailureTTL`
   * seconds (not stored if 0); other answers live their lowest record TTL
   * (all sections up to the OPT record; an SOA's MINIMUM field plays no
   * part). An answer without records is not stored, so the usual empty
   * TC=1 answer is not; a TC=1 answer that carries records is stored (for
   * UDP queries, since keys are per transport), as dnsdist 1.7.3 does.
   * NXDOMAIN and NODATA (NOERROR with an SOA in authority) are capped at
   * `maxNegativeTTL`, others at `maxTTL`; below `minTTL` the answer is not
   * stored and counted in `ttlTooShorts`. A full shard takes
   * nothing more (nothing is evicted). An existing entry under the same key
   * is replaced only if the new one lives longer, and, while it is still
   * fresh, only by an answer to the same query (else an insert collision).
   */
  insert(dq: DNSQuestion, key: number, response: Uint8Array, length = response.length, options?: CacheInsertOptions): boolean {
    if (length < HEADER_SIZE || length > response.length) return false;
    const settings = this.settings;
    const rcode = response[3]! & 0x0f;
    let ttl: number;
    if (rcode === RCODE_SERVFAIL || rcode === RCODE_REFUSED) {
      ttl = options?.tempFailureTTL ?? settings.temporaryFailureTTL;
      if (ttl === 0) return false;
    } else {
      const scan = scanResponseTtls(response, length, this.#scan);
      if (scan.minTtl < 0) return false;
      ttl = scan.minTtl;
      if (rcode === RCODE_NXDOMAIN || (rcode === RCODE_NOERROR && scan.soaInAuthority)) ttl = Math.min(ttl, settings.maxNegativeTTL);
      else if (ttl > settings.maxTTL) ttl = settings.maxTTL;
      if (ttl < settings.minTTL) {
        this.#counts[4]!++;
        return false;
      }
    }

    const shard = this.#shards[key % this.#shards.length]!;
    if (shard.size >= this.#maxPerShard) return false;

    const qnameEnd = dq.view.qnameEnd;
    const qnameLength = qnameEnd - HEADER_SIZE;
    // One exact-size allocation per entry, outside Buffer's shared pool, which a long-lived entry would pin.
    const storage = Buffer.allocUnsafeSlow(length + qnameLength);
    storage.set(response.subarray(0, length), 0);
    dq.packet.copy(storage, length, HEADER_SIZE, qnameEnd);
    let subnet: Uint8Array | undefined;
    if (settings.parseECS && options?.withoutSubnet !== true && readClientSubnet(dq.packet, dq.length, qnameEnd, this.#subnet)) {
      subnet = Uint8Array.from(this.#subnet);
    }
    const now = this.#now();
    const entry = new CacheEntry(
      storage.subarray(0, length),
      storage.subarray(length),
      dq.view.qtype,
      dq.view.qclass,
      options?.queryFlags ?? queryFlagsOf(dq),
      dq.view.ednsDo,
      dq.transport === 'udp',
      subnet,
      now,
      now + ttl,
    );

    const existing = shard.get(key);
    if (existing !== undefined) {
      if (existing.validity > now && !this.#sameQuery(existing, entry)) {
        this.#counts[3]!++;
        return false;
      }
      if (entry.validity <= existing.validity) return false;
    }
    shard.set(key, entry);
    if (existing === undefined && this.#entriesCell !== undefined) this.#entriesCell[0]!++;
    this.replication?.inserted(key, entry);
    return true;
  }

  /**
   * Store an entry another copy of this cache stored (a data-plane worker's
   * insert, shared with the others): the rules of insert() for a full shard
   * and an existing entry, without counting a collision (the copy that
   * inserted it counted its own). An entry already expired is stored too,
   * as the inserting copy keeps it: it is served stale while its pool has
   * no backend up (an answer with TTL 0 is expired as it is stored, and
   * one whose last second ran out before this copy read the ring), and the
   * cache cleaning removes it as from the inserting copy.
   * Returns whether it was stored.
   */
  adopt(key: number, entry: CacheEntry, now: number = this.#now()): boolean {
    const shard = this.#shards[key % this.#shards.length]!;
    if (shard.size >= this.#maxPerShard) return false;
    const existing = shard.get(key);
    if (existing !== undefined) {
      if (existing.validity > now && !this.#sameQuery(existing, entry)) return false;
      if (entry.validity <= existing.validity) return false;
    }
    shard.set(key, entry);
    if (existing === undefined && this.#entriesCell !== undefined) this.#entriesCell[0]!++;
    return true;
  }

  /**
   * Remove expired entries (validity <= now) until the cache holds at most
   * `upTo` entries, each shard keeping at most its share. The maintenance
   * tick calls it with `maxEntries * (100 - cacheCleaningPercentage) / 100`.
   * Returns the number removed.
   */
  purgeExpired(upTo = 0, now: number = this.#now()): number {
    const maxPerShard = Math.floor(upTo / this.#shards.length);
    let removed = 0;
    for (const shard of this.#shards) {
      let toRemove = shard.size - maxPerShard;
      if (toRemove <= 0) continue;
      for (const [key, entry] of shard) {
        if (toRemove === 0) break;
        if (entry.validity <= now) {
          shard.delete(key);
          toRemove--;
          removed++;
        }
      }
    }
    this.#recountEntries();
    return removed;
  }

  /**
   * Remove entries, expired or not, oldest insertions first, until the
   * cache holds at most `upTo` (each shard keeping at most its share).
   * `expunge()` empties it. Returns the number removed.
   */
  expunge(upTo = 0): number {
    const maxPerShard = Math.floor(upTo / this.#shards.length);
    let removed = 0;
    for (const shard of this.#shards) {
      let toRemove = shard.size - maxPerShard;
      if (toRemove <= 0) continue;
      if (maxPerShard === 0) {
        removed += shard.size;
        shard.clear();
        continue;
      }
      for (const key of shard.keys()) {
        if (toRemove === 0) break;
        shard.delete(key);
        toRemove--;
        removed++;
      }
    }
    this.#recountEntries();
    return removed;
  }

  /**
   * Remove the entries for `name` (case-insensitive), or also for names
   * below it with `suffixMatch`, of type `qtype` (QType.ANY: every type).
   * Returns the number removed; the console prints formatExpungedRecords().
   *
   * @throws DnsNameError for a string that is not a valid name.
   */
  expungeByName(name: DNSName | string, qtype: number = QType.ANY, suffixMatch = false): number {
    const target = typeof name === 'string' ? DNSName.fromString(name) : name;
    let removed = 0;
    for (const shard of this.#shards) {
      for (const [key, entry] of shard) {
        if (qtype !== QType.ANY && qtype !== entry.qtype) continue;
        const qname = DNSName.fromWire(entry.qnameWire).name;
        if (qname.equals(target) || (suffixMatch && qname.isPartOf(target))) {
          shard.delete(key);
          removed++;
        }
      }
    }
    this.#recountEntries();
    return removed;
  }

  isFull(): boolean {
    const stats = this.getStats();
    return stats.entries >= stats.maxEntries;
  }

  getEntriesCount(): number {
    if (this.replicas) return this.replicas.getStats().entries;
    return this.#localEntries();
  }

  /**
   * Keep this copy's entry count in `cell` (one number, e.g. a worker's
   * cell of a SharedArrayBuffer) from now on, current at every insert,
   * adoption and removal.
   */
  countEntriesInto(cell: Float64Array): void {
    if (cell.length !== 1) throw new RangeError(`PacketCache.countEntriesInto: ${cell.length} cells for one entry count`);
    this.#entriesCell = cell;
    cell[0] = this.#localEntries();
  }

  /** After a removal of many entries: the count from the shards (a cold path). */
  #recountEntries(): void {
    if (this.#entriesCell !== undefined) this.#entriesCell[0] = this.#localEntries();
  }

  #localEntries(): number {
    let count = 0;
    for (const shard of this.#shards) count += shard.size;
    return count;
  }

  /**
   * Keep the counters in `slots` from now on (PACKET_CACHE_COUNTERS.length
   * numbers, e.g. a worker's row of a SharedArrayBuffer), carrying the
   * current values over.
   */
  countInto(slots: Float64Array): void {
    if (slots.length !== PACKET_CACHE_COUNTERS.length)
      throw new RangeError(`PacketCache.countInto: ${slots.length} slots for ${PACKET_CACHE_COUNTERS.length} counters`);
    slots.set(this.#counts);
    this.#counts = slots;
  }

  /**
   * `pc:getStats()`. deferredInserts and deferredLookups count lock
   * contention between dnsdist's threads and are always 0 here. With
   * `replicas`, the workers' copies summed (see PacketCacheReplicas).
   */
  getStats(): PacketCacheStats {
    if (this.replicas) return this.replicas.getStats();
    return {
      entries: this.#localEntries(),
      maxEntries: this.settings.maxEntries,
      hits: this.#counts[0]!,
      misses: this.#counts[1]!,
      deferredInserts: 0,
      deferredLookups: 0,
      lookupCollisions: this.#counts[2]!,
      insertCollisions: this.#counts[3]!,
      ttlTooShorts: this.#counts[4]!,
    };
  }

  /** `pc:printStats()` text. */
  printStats(): string {
    return formatPacketCacheStats(this.getStats());
  }

  /** `pc:toString()`: "entries/maxEntries". */
  toString(): string {
    const stats = this.getStats();
    return `${stats.entries}/${stats.maxEntries}`;
  }

  /**
   * `pc:dump(file)`: write every entry to a new file (it must not exist).
   * Returns the console text ("Dumped N records" or why the file could not be created).
   */
  dump(path: string): string {
    return writePacketCacheDump(path, this.dumpLines());
  }

  /** This copy's entries as `dump` writes them, one line each. */
  *dumpLines(): Generator<string> {
    const now = this.#now();
    for (const shard of this.#shards) for (const [key, entry] of shard) yield formatDumpLine(entry, key, now);
  }

  /** dnsdist's cachedValueMatches for a lookup: the entry answers exactly this query. */
  #matches(entry: CacheEntry, dq: DNSQuestion, queryFlags: number): boolean {
    const view = dq.view;
    if (
      entry.queryFlags !== queryFlags ||
      entry.dnssecOK !== view.ednsDo ||
      entry.overUdp !== (dq.transport === 'udp') ||
      entry.qtype !== view.qtype ||
      entry.qclass !== view.qclass ||
      !sameNameFolded(entry.qnameWire, dq.packet, HEADER_SIZE, view.qnameEnd)
    ) {
      return false;
    }
    if (!this.settings.parseECS) return true;
    const hasSubnet = readClientSubnet(dq.packet, dq.length, view.qnameEnd, this.#subnet);
    if (entry.subnet === undefined) return !hasSubnet;
    return hasSubnet && clientSubnetsEqual(entry.subnet, this.#subnet);
  }

  /** The same comparison between two entries (insert collisions). */
  #sameQuery(a: CacheEntry, b: CacheEntry): boolean {
    if (
      a.queryFlags !== b.queryFlags ||
      a.dnssecOK !== b.dnssecOK ||
      a.overUdp !== b.overUdp ||
      a.qtype !== b.qtype ||
      a.qclass !== b.qclass ||
      !sameNameFolded(a.qnameWire, b.qnameWire, 0, b.qnameWire.length)
    ) {
      return false;
    }
    if (!this.settings.parseECS) return true;
    if (a.subnet === undefined || b.subnet === undefined) return a.subnet === b.subnet;
    return clientSubnetsEqual(a.subnet, b.subnet);
  }
}
