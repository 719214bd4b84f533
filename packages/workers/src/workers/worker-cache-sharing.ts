/**
 * One packet cache across the data-plane workers, as dnsdist has one: each
 * worker answers from its own copy (a hit is the one-process lookup: no
 * lock, no message, nothing shared read), and every entry a worker stores
 * reaches the other workers' copies before the worker answers its client,
 * so a name one worker fetched is a hit in every worker, and the copies
 * converge on the same entries (at most maxEntries each: the cache's size,
 * not the size times the workers).
 *
 * How: each worker owns a ring in a SharedArrayBuffer. Its insert appends
 * the entry's bytes to its ring and publishes the ring's new end
 * (Atomics.store): a byte copy, before the answer is sent. The other
 * workers read the rings (each remembers how far it read each one) and
 * adopt the entries (PacketCache.adopt: the rules of insert for full
 * shards and existing entries) when a lookup would miss, before the query
 * goes to a backend, and every publish interval (100 ms) otherwise, so
 * that the copies converge and their entry counts agree.
 *
 * A ring is written by its worker alone and never waits for its readers:
 * a reader that fell a whole ring behind (4 MiB of entries it did not
 * read) skips to the end, and those entries stay in the worker that
 * stored them (counted in `lost`). A reader checks after copying a record
 * that the writer has not come round to it meanwhile (a torn record is
 * dropped, never adopted).
 *
 * A worker that starts (or restarts) after another has stored entries reads
 * that ring from the start of its current lap (startOfLap).
 *
 * The console's expunge and expungeByName (control plane) raise the cache's
 * generation in shared memory before asking the workers: an entry stored
 * before that and not yet adopted elsewhere is dropped when read, so an
 * expunged entry does not come back from another worker's ring.
 */
import { CacheEntry, CLIENT_SUBNET_SIZE, type PacketCache, type PacketCacheReplication } from '@dnsdist-ts/dataplane/cache/index.js';

/** Bytes of each worker's ring (a power of two: positions are uint32 counters, offsets their low bits). */
export const RING_BYTES = 4 * 1024 * 1024;
const MASK = RING_BYTES - 1;
/** The largest record: a 65,535-byte answer, its qname and the fields. Larger answers are not shared. */
const MAX_RECORD = 65_535 + 255 + 64;
/** What a writer may be writing past its published end: a pad record and a record. */
const IN_FLIGHT = 2 * MAX_RECORD;
/**
 * Record, 4-byte aligned: size u32 (a record of cache PAD fills the
 * ring's end), cache u16, key u32, generation i32, added u32, validity u32,
 * qtype u16, qclass u16, query flags u16, bits u8 (1 DO, 2 over UDP,
 * 4 subnet), [subnet], response length u32, qname length u16, response, qname.
 */
const FIXED = 4 + 2 + 4 + 4 + 4 + 4 + 2 + 2 + 2 + 1 + 4 + 2;
const PAD = 0xffff;
const DO_BIT = 1;
const UDP_BIT = 2;
const SUBNET_BIT = 4;

/** The shared memory of one pool of workers (worker-caches.ts makes it). */
export interface CacheSharingBuffers {
  /** Per worker: its ring's end (an Int32 position), then RING_BYTES of records. */
  rings: SharedArrayBuffer;
  /** One Int32 per cache: raised by the console's expunges. */
  generations: SharedArrayBuffer;
}

/** The rings' buffer for `workers` workers (none without a cache: nothing is shared). */
export function sharingBuffers(workers: number, caches: number): CacheSharingBuffers {
  return {
    rings: new SharedArrayBuffer(caches > 0 ? workers * (8 + RING_BYTES) : 0),
    generations: new SharedArrayBuffer(Math.max(1, caches) * 4),
  };
}

class Ring {
  readonly end: Int32Array;
  readonly bytes: Buffer;
  constructor(buffer: SharedArrayBuffer, index: number) {
    const base = index * (8 + RING_BYTES);
    this.end = new Int32Array(buffer, base, 1);
    this.bytes = Buffer.from(buffer, base + 8, RING_BYTES);
  }
}

/**
 * Where a worker that starts reads another's ring from: the records of the
 * ring's current lap, all intact (the ring's offset 0 always starts a
 * record). The workers start one after the other and each answers as soon
 * as it listens, so the first may store entries before the last starts;
 * the last then adopts them, as it adopts any other, and the cache is one
 * cache from the start (a client whose queries the kernel moves to the new
 * worker keeps its hits). A restarted worker takes up the same records,
 * and those of its own ring, which its predecessor wrote (entries expunged
 * since are refused by their generation). When the
 * writer is about to wrap (what it writes next may reach the lap's first
 * records), the reader starts at the end, with an empty copy.
 */
export function startOfLap(end: number): number {
  const offset = end & MASK;
  return offset + IN_FLIGHT > RING_BYTES ? end : (end - offset) >>> 0;
}

/** A worker's end: its copies' inserts go into its ring; the other workers' rings are read into its copies. */
export class WorkerCacheSharing {
  readonly #caches: readonly PacketCache[];
  readonly #generations: Int32Array;
  readonly #own: Ring;
  readonly #others: Ring[] = [];
  /** How far this worker read each of #others (uint32 positions). */
  readonly #read: number[] = [];
  readonly #replication: PacketCacheReplication[];
  /** Entries written, adopted, read but not stored (full shard, an entry living longer, another query's, expunged meanwhile), and skipped unread. */
  written = 0;
  adopted = 0;
  refused = 0;
  lost = 0;

  /**
   * @param caches this worker's configurationCaches(), in the control plane's order.
   * @param index this worker's ring; the others' are read.
   */
  constructor(caches: readonly PacketCache[], buffers: CacheSharingBuffers, index: number, workers: number) {
    this.#caches = caches;
    this.#generations = new Int32Array(buffers.generations);
    this.#own = new Ring(buffers.rings, index);
    for (let w = 0; w < workers; w++) {
      if (w === index) continue;
      const ring = new Ring(buffers.rings, w);
      this.#others.push(ring);
      this.#read.push(startOfLap(Atomics.load(ring.end, 0) >>> 0));
    }
    this.#replication = caches.map((_, i) => ({
      inserted: (key: number, entry: CacheEntry) => this.#write(i, key, entry),
      catchUp: () => this.catchUp() > 0,
    }));
    // A restarted worker's predecessor wrote its own ring: those entries are the cache's too (the others hold them).
    const ownEnd = Atomics.load(this.#own.end, 0) >>> 0;
    this.#readRecords(this.#own, startOfLap(ownEnd), ownEnd);
    caches.forEach((cache, i) => {
      cache.replication = this.#replication[i];
    });
  }

  #write(cache: number, key: number, entry: CacheEntry): void {
    const subnet = entry.subnet;
    const size = (FIXED + (subnet ? CLIENT_SUBNET_SIZE : 0) + entry.response.length + entry.qnameWire.length + 3) & ~3;
    if (size > MAX_RECORD) return;
    const b = this.#own.bytes;
    let end = Atomics.load(this.#own.end, 0) >>> 0;
    let at = end & MASK;
    if (at + size > RING_BYTES) {
      // The record does not fit before the ring's end: a pad record fills it, and the record starts at 0.
      b.writeUInt32BE(RING_BYTES - at, at);
      b.writeUInt16BE(PAD, at + 4);
      end = (end + (RING_BYTES - at)) >>> 0;
      at = 0;
    }
    at = b.writeUInt32BE(size, at);
    at = b.writeUInt16BE(cache, at);
    at = b.writeUInt32BE(key >>> 0, at);
    at = b.writeInt32BE(Atomics.load(this.#generations, cache), at);
    at = b.writeUInt32BE(entry.added >>> 0, at);
    at = b.writeUInt32BE(entry.validity >>> 0, at);
    at = b.writeUInt16BE(entry.qtype, at);
    at = b.writeUInt16BE(entry.qclass, at);
    at = b.writeUInt16BE(entry.queryFlags, at);
    at = b.writeUInt8((entry.dnssecOK ? DO_BIT : 0) | (entry.overUdp ? UDP_BIT : 0) | (subnet ? SUBNET_BIT : 0), at);
    if (subnet) {
      b.set(subnet, at);
      at += CLIENT_SUBNET_SIZE;
    }
    at = b.writeUInt32BE(entry.response.length, at);
    at = b.writeUInt16BE(entry.qnameWire.length, at);
    b.set(entry.response, at);
    b.set(entry.qnameWire, at + entry.response.length);
    // Published once written: a reader never sees the end move past a record being written.
    Atomics.store(this.#own.end, 0, (end + size) | 0);
    this.written++;
  }

  /** Adopt every record the other workers wrote since the last call; the number adopted. */
  catchUp(): number {
    let adopted = 0;
    for (let r = 0; r < this.#others.length; r++) {
      const ring = this.#others[r]!;
      const end = Atomics.load(ring.end, 0) >>> 0;
      const pos = this.#read[r]!;
      if (pos === end) continue;
      if ((end - pos) >>> 0 > RING_BYTES - IN_FLIGHT) {
        // A whole ring behind: the oldest records are being overwritten. Skip to the end.
        this.lost++;
        this.#read[r] = end;
        continue;
      }
      adopted += this.#readRecords(ring, pos, end);
      this.#read[r] = end;
    }
    return adopted;
  }

  /** Adopt the records of `ring` from `pos` to `end`; the number adopted. */
  #readRecords(ring: Ring, pos: number, end: number): number {
    let adopted = 0;
    while (pos !== end) {
      const size = this.#readRecord(ring, pos);
      if (size === 0) {
        // Overwritten while read, or malformed: skip what is left.
        this.lost++;
        break;
      }
      if (size > 0) adopted++;
      pos = (pos + Math.abs(size)) >>> 0;
    }
    return adopted;
  }

  /** Read the record at `pos`: its size if adopted, minus its size if not, 0 if it cannot be trusted. */
  #readRecord(ring: Ring, pos: number): number {
    const b = ring.bytes;
    const at = pos & MASK;
    if (at + 6 > RING_BYTES) return 0;
    const size = b.readUInt32BE(at);
    const cache = b.readUInt16BE(at + 4);
    if (size < 8 || (size & 3) !== 0 || at + size > RING_BYTES) return 0;
    if (cache === PAD) return this.#intact(ring, pos) ? -size : 0;
    if (size < FIXED) return 0;
    const key = b.readUInt32BE(at + 6);
    const generation = b.readInt32BE(at + 10);
    const added = b.readUInt32BE(at + 14);
    const validity = b.readUInt32BE(at + 18);
    const qtype = b.readUInt16BE(at + 22);
    const qclass = b.readUInt16BE(at + 24);
    const flags = b.readUInt16BE(at + 26);
    const bits = b[at + 28]!;
    let p = at + 29;
    let subnet: Uint8Array | undefined;
    if ((bits & SUBNET_BIT) !== 0) {
      if (size < FIXED + CLIENT_SUBNET_SIZE) return 0;
      subnet = Uint8Array.from(b.subarray(p, p + CLIENT_SUBNET_SIZE));
      p += CLIENT_SUBNET_SIZE;
    }
    const responseLength = b.readUInt32BE(p);
    const qnameLength = b.readUInt16BE(p + 4);
    p += 6;
    if (p + responseLength + qnameLength > at + size) return 0;
    const target = this.#caches[cache];
    if (target === undefined || generation !== Atomics.load(this.#generations, cache)) {
      this.refused++;
      return this.#intact(ring, pos) ? -size : 0;
    }
    // One exact-size allocation per entry, as insert() makes; checked once copied.
    const storage = Buffer.allocUnsafeSlow(responseLength + qnameLength);
    b.copy(storage, 0, p, p + responseLength + qnameLength);
    if (!this.#intact(ring, pos)) return 0;
    const entry = new CacheEntry(
      storage.subarray(0, responseLength),
      storage.subarray(responseLength),
      qtype,
      qclass,
      flags,
      (bits & DO_BIT) !== 0,
      (bits & UDP_BIT) !== 0,
      subnet,
      added,
      validity,
    );
    if (target.adopt(key, entry)) {
      this.adopted++;
      return size;
    }
    this.refused++;
    return -size;
  }

  /** The writer has not come round to the record at `pos` (what it writes next may reach IN_FLIGHT past the end). */
  #intact(ring: Ring, pos: number): boolean {
    const end = Atomics.load(ring.end, 0) >>> 0;
    return ((end - pos) >>> 0) + IN_FLIGHT <= RING_BYTES;
  }

  /** The worker stops: its caches stop writing and reading. */
  close(): void {
    for (const cache of this.#caches) cache.replication = undefined;
  }
}
