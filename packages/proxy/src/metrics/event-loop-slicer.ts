/**
 * Long work on the event loop in slices: `checkpoint()` lets the loop run
 * (setImmediate: pending I/O such as DNS queries first) once the current
 * slice has taken its budget, so a large scrape delays no query by more
 * than about one slice.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export class EventLoopSlicer {
  readonly #budgetMs: number;
  #sliceStart = performance.now();
  #longestMs = 0;
  #yields = 0;

  /** @param budgetMs how long one slice may hold the loop. */
  constructor(budgetMs = 4) {
    this.#budgetMs = budgetMs;
  }

  /** Yield to the event loop when the slice has used its budget; otherwise continue at once. */
  async checkpoint(): Promise<void> {
    const now = performance.now();
    if (now - this.#sliceStart < this.#budgetMs) return;
    this.#end(now);
    await nextTurn();
    this.#sliceStart = performance.now();
  }

  /** Yield to the event loop now (between stages of the work). */
  async yield(): Promise<void> {
    this.#end(performance.now());
    await nextTurn();
    this.#sliceStart = performance.now();
  }

  #end(now: number): void {
    this.#longestMs = Math.max(this.#longestMs, now - this.#sliceStart);
    this.#yields++;
  }

  /** The longest slice so far, including the current one, in milliseconds. */
  get longestSliceMs(): number {
    return Math.max(this.#longestMs, performance.now() - this.#sliceStart);
  }

  /** How many times the work gave the loop back. */
  get yields(): number {
    return this.#yields;
  }
}
