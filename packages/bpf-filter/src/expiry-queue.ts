/** A deadline: milliseconds on performance.now(), or CLOCK_MONOTONIC nanoseconds. */
export type Deadline = number | bigint;

interface Slot<K, D extends Deadline> {
  readonly key: K;
  readonly until: D;
}

/** Stale slots tolerated before the heap is rebuilt from the live ones (and never fewer than this). */
const MIN_STALE_BEFORE_COMPACTION = 1024;

/**
 * Keys with deadlines, ordered by deadline: a binary min-heap, so taking
 * what has expired costs O(expired × log n) and never looks at a key
 * whose deadline is still ahead. Housekeeping that runs every second over
 * 100,000 blocks must not visit the 100,000.
 *
 * Rescheduling or cancelling a key does not search the heap: the key's
 * current slot is remembered, and a slot that is no longer current is
 * dropped when it reaches the top (lazy deletion). When stale slots
 * outnumber live ones the heap is rebuilt from the live ones, so it holds
 * at most about twice as many slots as keys.
 *
 * A key is due when `until <= now`. Keys are compared with Map semantics
 * (objects by identity, strings by value).
 */
export class ExpiryQueue<K, D extends Deadline = number> {
  #heap: Array<Slot<K, D>> = [];
  readonly #current = new Map<K, Slot<K, D>>();
  #stale = 0;

  /** Keys scheduled. */
  get size(): number {
    return this.#current.size;
  }

  /** Slots in the heap, stale ones included (for tests and statistics). */
  get slots(): number {
    return this.#heap.length;
  }

  has(key: K): boolean {
    return this.#current.has(key);
  }

  /** The key's deadline, or undefined when it is not scheduled. */
  deadline(key: K): D | undefined {
    return this.#current.get(key)?.until;
  }

  /** The earliest deadline of a scheduled key, or undefined when none is. */
  earliest(): D | undefined {
    this.#dropStaleTop();
    return this.#heap[0]?.until;
  }

  /** Schedule `key` at `until`, replacing its previous deadline (earlier or later). */
  schedule(key: K, until: D): void {
    const prev = this.#current.get(key);
    if (prev !== undefined) {
      if (prev.until === until) return;
      this.#stale++;
    }
    const slot: Slot<K, D> = { key, until };
    this.#current.set(key, slot);
    this.#heap.push(slot);
    this.#siftUp(this.#heap.length - 1);
    this.#maybeCompact();
  }

  /** Unschedule `key`; returns whether it was scheduled. */
  cancel(key: K): boolean {
    if (!this.#current.delete(key)) return false;
    this.#stale++;
    this.#maybeCompact();
    return true;
  }

  /**
   * Unschedule and return the keys due at `now` (`until <= now`), earliest
   * first, with the deadline each was due at. The caller may schedule keys
   * again while handling them.
   */
  takeExpired(now: D): Array<[K, D]> {
    const out: Array<[K, D]> = [];
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.until <= now) {
      const slot = this.#pop();
      if (this.#current.get(slot.key) === slot) {
        this.#current.delete(slot.key);
        out.push([slot.key, slot.until]);
      } else {
        this.#stale--;
      }
    }
    return out;
  }

  /** Every scheduled key (in no particular order). */
  keys(): IterableIterator<K> {
    return this.#current.keys();
  }

  clear(): void {
    this.#heap = [];
    this.#current.clear();
    this.#stale = 0;
  }

  #dropStaleTop(): void {
    const heap = this.#heap;
    while (heap.length > 0 && this.#current.get(heap[0]!.key) !== heap[0]) {
      this.#pop();
      this.#stale--;
    }
  }

  #maybeCompact(): void {
    if (this.#stale < MIN_STALE_BEFORE_COMPACTION || this.#stale <= this.#current.size) return;
    this.#heap = [...this.#current.values()];
    this.#stale = 0;
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  #pop(): Slot<K, D> {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#siftDown(0);
    }
    return top;
  }

  #siftUp(i: number): void {
    const heap = this.#heap;
    const slot = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.until <= slot.until) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = slot;
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const slot = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && heap[r]!.until < heap[l]!.until ? r : l;
      if (heap[child]!.until >= slot.until) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = slot;
  }
}
