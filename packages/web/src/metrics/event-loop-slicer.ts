/**
 * Long work on the event loop in slices: `checkpoint()` lets the loop run
 * (setImmediate: pending I/O such as DNS queries first) once the current
 * slice has taken its budget, so a large scrape delays no query by more
 * than about one slice.
 *
 * A slice is the time the work holds the loop: from a turn's start to its
 * next yield or `wait`. Time spent awaiting something else (another
 * thread, libuv's pool) is not a slice, the loop is free meanwhile.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export class EventLoopSlicer {
  readonly #budgetMs: number;
  readonly #now: () => number;
  #sliceStart: number;
  #longestMs = 0;
  #yields = 0;

  /**
   * @param budgetMs how long one slice may hold the loop.
   * @param now the clock in milliseconds (tests give a fake one).
   */
  constructor(budgetMs = 4, now: () => number = () => performance.now()) {
    this.#budgetMs = budgetMs;
    this.#now = now;
    this.#sliceStart = now();
  }

  /** Yield to the event loop when the slice has used its budget; otherwise continue at once. */
  async checkpoint(): Promise<void> {
    const now = this.#now();
    if (now - this.#sliceStart < this.#budgetMs) return;
    this.#end(now);
    await nextTurn();
    this.#sliceStart = this.#now();
  }

  /** Yield to the event loop now (between stages of the work). */
  async yield(): Promise<void> {
    this.#end(this.#now());
    await nextTurn();
    this.#sliceStart = this.#now();
  }

  /**
   * Await work done elsewhere (a thread, libuv's pool): the current slice
   * ends here and a new one starts when the result is back, so the time
   * waited is not counted as a hold of the loop.
   */
  async wait<T>(work: Promise<T>): Promise<T> {
    this.#end(this.#now());
    try {
      return await work;
    } finally {
      this.#sliceStart = this.#now();
    }
  }

  #end(now: number): void {
    this.#longestMs = Math.max(this.#longestMs, now - this.#sliceStart);
    this.#yields++;
  }

  /** The longest slice so far, including the current one, in milliseconds. */
  get longestSliceMs(): number {
    return Math.max(this.#longestMs, this.#now() - this.#sliceStart);
  }

  /** How many times the work gave the loop back. */
  get yields(): number {
    return this.#yields;
  }
}
