/**
 * Per-subnet token buckets for MaxQPSIPRule: one bucket per client address
 * truncated to a prefix length, kept in least-recently-seen order so stale
 * ones can be dropped a few at a time from the front, as dnsdist's
 * multi-index container does.
 *
 * Lookups allocate nothing: a masked address is split into 32-bit words
 * that index nested Maps (one level per word the prefix covers; a /24 IPv4
 * or /64 IPv6 key is one or two number look-ups). Only a new subnet
 * allocates its bucket.
 */
import type { TokenBucketState } from './qps-limiter.js';

/** One subnet's bucket, also a node of the recency list. */
class Bucket implements TokenBucketState {
  readonly family: 4 | 6;
  /** The masked address words, to find the bucket again when removing it. */
  readonly words: readonly number[];
  tokens: number;
  /** When the bucket was last checked (clock milliseconds): dnsdist's "seen". */
  lastSeen: number;
  prev: Bucket | undefined;
  next: Bucket | undefined;

  constructor(family: 4 | 6, words: readonly number[], tokens: number, now: number) {
    this.family = family;
    this.words = words;
    this.tokens = tokens;
    this.lastSeen = now;
  }
}

/** A level of the key tree: the next word → a deeper level, or the bucket at the last level. */
type Level = Map<number, Level | Bucket>;

/** Word `index` of `bytes` with only the first `bits` bits of the whole address kept. */
function maskedWord(bytes: Uint8Array, index: number, bits: number): number {
  const o = index * 4;
  const word = ((bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!) >>> 0;
  const keep = bits - index * 32;
  if (keep >= 32) return word;
  if (keep <= 0) return 0;
  return (word & (0xffffffff << (32 - keep))) >>> 0;
}

/** How many words a prefix of `bits` spans; a /0 still needs one (all zero) word. */
function wordCount(bits: number): number {
  return Math.max(1, Math.ceil(bits / 32));
}

export class SubnetBuckets {
  readonly #v4Bits: number;
  readonly #v6Bits: number;
  readonly #v4: Level = new Map();
  readonly #v6: Level = new Map();
  /** Least recently seen first. */
  #head: Bucket | undefined;
  #tail: Bucket | undefined;
  #size = 0;

  constructor(v4Bits: number, v6Bits: number) {
    this.#v4Bits = v4Bits;
    this.#v6Bits = v6Bits;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * The bucket for `address` (4 or 16 bytes), created full with `burst`
   * tokens if the subnet is new, and moved to the most-recent end.
   */
  touch(address: Uint8Array, burst: number, now: number): Bucket {
    const family = address.length === 4 ? 4 : 6;
    const bits = family === 4 ? this.#v4Bits : this.#v6Bits;
    const depth = wordCount(bits);
    let level = family === 4 ? this.#v4 : this.#v6;
    for (let i = 0; i < depth - 1; i++) {
      const w = maskedWord(address, i, bits);
      let next = level.get(w) as Level | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(w, next);
      }
      level = next;
    }
    const last = maskedWord(address, depth - 1, bits);
    let bucket = level.get(last) as Bucket | undefined;
    if (bucket === undefined) {
      const words: number[] = [];
      for (let i = 0; i < depth; i++) words.push(maskedWord(address, i, bits));
      bucket = new Bucket(family, words, burst, now);
      level.set(last, bucket);
      this.#size++;
      this.#append(bucket);
    } else if (bucket !== this.#tail) {
      this.#unlink(bucket);
      this.#append(bucket);
    }
    return bucket;
  }

  /**
   * Remove buckets not seen since `cutoff`, oldest first, looking at no more
   * than `maxScanned` of them and stopping at the first one still in use
   * (everything after it was seen later). Returns how many went.
   */
  expire(cutoff: number, maxScanned: number): number {
    let removed = 0;
    for (let scanned = 0; scanned < maxScanned; scanned++) {
      const bucket = this.#head;
      if (bucket === undefined || bucket.lastSeen > cutoff) break;
      this.#unlink(bucket);
      this.#forget(bucket);
      removed++;
    }
    return removed;
  }

  clear(): void {
    this.#v4.clear();
    this.#v6.clear();
    this.#head = undefined;
    this.#tail = undefined;
    this.#size = 0;
  }

  #append(bucket: Bucket): void {
    bucket.prev = this.#tail;
    bucket.next = undefined;
    if (this.#tail) this.#tail.next = bucket;
    else this.#head = bucket;
    this.#tail = bucket;
  }

  #unlink(bucket: Bucket): void {
    if (bucket.prev) bucket.prev.next = bucket.next;
    else this.#head = bucket.next;
    if (bucket.next) bucket.next.prev = bucket.prev;
    else this.#tail = bucket.prev;
    bucket.prev = undefined;
    bucket.next = undefined;
  }

  /** Drop the bucket from the key tree, pruning levels it leaves empty. */
  #forget(bucket: Bucket): void {
    const path: Level[] = [bucket.family === 4 ? this.#v4 : this.#v6];
    const words = bucket.words;
    for (let i = 0; i < words.length - 1; i++) {
      const next = path[i]!.get(words[i]!) as Level | undefined;
      if (next === undefined) return;
      path.push(next);
    }
    path[words.length - 1]!.delete(words[words.length - 1]!);
    for (let i = words.length - 1; i > 0 && path[i]!.size === 0; i--) path[i - 1]!.delete(words[i - 1]!);
    this.#size--;
  }
}

export type { Bucket as SubnetBucket };
