/**
 * One packet cache across the data-plane workers, as dnsdist has one: each
 * worker still answers from its own copy (the lookup is the one-process
 * lookup, no lock, no message), and every entry a worker stores is copied
 * into the other workers' copies, so that a name one worker fetched is a
 * hit in every worker and the copies converge on the same entries (at
 * most maxEntries each: the cache's size, not the size times the workers).
 *
 * The copies travel in batches: an insert appends its entry to this
 * worker's batch (a byte copy, no message); the batch goes out once per
 * event-loop turn (setImmediate) on a BroadcastChannel every worker of
 * the pool has joined, and each other worker adopts the entries
 * (PacketCache.adopt: the rules of insert for full shards and existing
 * entries). A query that reaches another worker in the same turn as the
 * insert may still miss there, as a query reaching dnsdist while another
 * thread waits for the same answer does.
 *
 * The console's expunge and expungeByName (control plane) raise the cache's
 * generation in shared memory before asking the workers: an entry
 * inserted before that and still in flight is dropped on arrival, so an
 * expunged entry does not come back from another worker's batch.
 *
 * Why not one table in a SharedArrayBuffer: see docs/architecture.md
 * ("Packet caches with workers").
 */
import { BroadcastChannel } from 'node:worker_threads';
import { CacheEntry, CLIENT_SUBNET_SIZE, type PacketCache, type PacketCacheReplication } from '../cache/index.js';

/** A batch grows to this before it goes out within the turn (a turn of many inserts sends several). */
const FLUSH_BYTES = 256 * 1024;
/**
 * Record: cache u16, key u32, generation i32, added u32, validity u32,
 * qtype u16, qclass u16, query flags u16, bits u8 (1 DO, 2 over UDP,
 * 4 subnet), [subnet], response length u32, qname length u16, response, qname.
 */
const FIXED = 2 + 4 + 4 + 4 + 4 + 2 + 2 + 2 + 1 + 4 + 2;
const DO_BIT = 1;
const UDP_BIT = 2;
const SUBNET_BIT = 4;

/** Channel name and generations of one pool of workers (worker-caches.ts makes them). */
export interface CacheSharingBuffers {
  /** The pool's BroadcastChannel name (unique per pool: several pools may run in one process). */
  channel: string;
  /** One Int32 per cache: raised by the console's expunges. */
  generations: SharedArrayBuffer;
}

/** A worker's end: its copies' inserts go out, the other workers' come in. */
export class WorkerCacheSharing {
  readonly #caches: readonly PacketCache[];
  readonly #generations: Int32Array;
  readonly #channel: BroadcastChannel;
  #batch = Buffer.allocUnsafeSlow(64 * 1024);
  #used = 0;
  #scheduled = false;
  readonly #flush = (): void => this.flush();
  /** Entries sent and adopted (tests, benchmarks). */
  sent = 0;
  adopted = 0;
  /** Entries received but not stored: full shard, an entry living longer, another query's entry, expunged meanwhile. */
  refused = 0;

  /**
   * @param caches this worker's configurationCaches(), in the control plane's order.
   */
  constructor(caches: readonly PacketCache[], buffers: CacheSharingBuffers) {
    this.#caches = caches;
    this.#generations = new Int32Array(buffers.generations);
    this.#channel = new BroadcastChannel(buffers.channel);
    // The channel alone does not keep a worker alive.
    (this.#channel as unknown as { unref(): void }).unref();
    this.#channel.onmessage = (event) => this.receive(event.data as Uint8Array);
    caches.forEach((cache, i) => {
      cache.replication = this.#replicationOf(i);
    });
  }

  #replicationOf(index: number): PacketCacheReplication {
    return { inserted: (key, entry) => this.#append(index, key, entry) };
  }

  #append(cache: number, key: number, entry: CacheEntry): void {
    const subnet = entry.subnet;
    const size = FIXED + (subnet ? CLIENT_SUBNET_SIZE : 0) + entry.response.length + entry.qnameWire.length;
    if (this.#used + size > this.#batch.length) this.#grow(size);
    const b = this.#batch;
    let at = this.#used;
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
    at += entry.response.length;
    b.set(entry.qnameWire, at);
    this.#used = at + entry.qnameWire.length;
    this.sent++;
    if (this.#used >= FLUSH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  #grow(size: number): void {
    let length = this.#batch.length * 2;
    while (length < this.#used + size) length *= 2;
    const bigger = Buffer.allocUnsafeSlow(length);
    this.#batch.copy(bigger, 0, 0, this.#used);
    this.#batch = bigger;
  }

  /** Send the batch now (the end of the turn does it). */
  flush(): void {
    this.#scheduled = false;
    if (this.#used === 0) return;
    // A copy of the used bytes only: a view would carry the whole batch buffer.
    const bytes = new Uint8Array(this.#batch.buffer.slice(this.#batch.byteOffset, this.#batch.byteOffset + this.#used));
    this.#used = 0;
    this.#channel.postMessage(bytes);
  }

  /** Adopt another worker's batch. A malformed batch is left where it stops making sense (workers only send well-formed ones). */
  receive(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) return;
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let at = 0;
    while (at + FIXED <= b.length) {
      const cache = b.readUInt16BE(at);
      const key = b.readUInt32BE(at + 2);
      const generation = b.readInt32BE(at + 6);
      const added = b.readUInt32BE(at + 10);
      const validity = b.readUInt32BE(at + 14);
      const qtype = b.readUInt16BE(at + 18);
      const qclass = b.readUInt16BE(at + 20);
      const flags = b.readUInt16BE(at + 22);
      const bits = b[at + 24]!;
      at += 25;
      let subnet: Uint8Array | undefined;
      if ((bits & SUBNET_BIT) !== 0) {
        if (at + CLIENT_SUBNET_SIZE > b.length) return;
        subnet = Uint8Array.from(b.subarray(at, at + CLIENT_SUBNET_SIZE));
        at += CLIENT_SUBNET_SIZE;
      }
      if (at + 6 > b.length) return;
      const responseLength = b.readUInt32BE(at);
      const qnameLength = b.readUInt16BE(at + 4);
      at += 6;
      const end = at + responseLength + qnameLength;
      if (end > b.length) return;
      const target = this.#caches[cache];
      if (target === undefined || generation !== Atomics.load(this.#generations, cache)) {
        this.refused++;
        at = end;
        continue;
      }
      // One exact-size allocation per entry, as insert() makes.
      const storage = Buffer.allocUnsafeSlow(responseLength + qnameLength);
      b.copy(storage, 0, at, end);
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
      if (target.adopt(key, entry)) this.adopted++;
      else this.refused++;
      at = end;
    }
  }

  /** Leave the channel (the worker stops); the caches stop reporting their inserts. */
  close(): void {
    this.flush();
    for (const cache of this.#caches) cache.replication = undefined;
    this.#channel.close();
  }
}
