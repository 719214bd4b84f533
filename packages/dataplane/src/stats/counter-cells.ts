/**
 * Counters kept in a Float64Array ("cells") behind ordinary-looking
 * properties, so that the array can later be moved into shared memory
 * without the code that increments them changing or paying for it.
 *
 * An object with cells gets, in its constructor, one own enumerable
 * accessor per counter (`queries`, `outstanding`, …) that reads and writes
 * its cell; the accessor functions are shared by every object of the class,
 * so they all keep one hidden class and `x.queries++` stays a field-speed
 * load and store (a data property turned into an accessor afterwards would
 * drop the object to dictionary mode, hundreds of times slower). Object.keys,
 * spread and JSON see the counters as before.
 *
 * With data-plane workers (workers/live-counters.ts) each worker's cells
 * become its region of a SharedArrayBuffer, and the control plane's become
 * a view that adds the workers' regions up on every read.
 */

/**
 * How a cell combines across workers: counters and gauges add up (a
 * counter also keeps what a dead worker counted), moving averages are
 * averaged over the workers that have one, high-water marks take the highest.
 */
export type CellKind = 'counter' | 'gauge' | 'mean' | 'max';

/** Where an object keeps its cells (non-enumerable, so not listed with the counters). */
export const CELLS: unique symbol = Symbol('counter cells');

/** What `this[CELLS][i]` may be: the object's own array, a shared region, or a summing view. */
export interface CellStore {
  [index: number]: number;
}

/** The counters of one class: names, kinds, and the accessors every object of the class shares. */
export class CellSet {
  readonly keys: readonly string[];
  readonly kinds: readonly CellKind[];
  readonly #descriptors: PropertyDescriptor[];

  constructor(spec: Readonly<Record<string, CellKind>>) {
    this.keys = Object.keys(spec);
    this.kinds = this.keys.map((k) => spec[k]!);
    this.#descriptors = this.keys.map((_, i) => ({
      get(this: { [CELLS]: CellStore }): number {
        return this[CELLS][i]!;
      },
      set(this: { [CELLS]: CellStore }, value: number): void {
        this[CELLS][i] = value;
      },
      enumerable: true,
      configurable: false,
    }));
  }

  /** Constructor side: give `target` its cells (all 0) and its counter properties. */
  install(target: object): void {
    Object.defineProperty(target, CELLS, { value: new Float64Array(this.keys.length), writable: true, enumerable: false });
    Object.defineProperty(target, CELL_SET, { value: this, enumerable: false });
    for (let i = 0; i < this.keys.length; i++) Object.defineProperty(target, this.keys[i]!, this.#descriptors[i]!);
  }
}

const CELL_SET: unique symbol = Symbol('counter cell set');

type WithCells = { [CELLS]: CellStore; [CELL_SET]: CellSet };

/** The cell set of an object that has cells, else undefined. */
export function cellSetOf(target: object): CellSet | undefined {
  return (target as Partial<WithCells>)[CELL_SET];
}

/** The store `target`'s counters read and write now. */
export function cellsOf(target: object): CellStore {
  const store = (target as Partial<WithCells>)[CELLS];
  if (!store) throw new TypeError('this object keeps no counter cells');
  return store;
}

/** Point `target`'s counters at another store (its current values are the caller's to carry over). */
export function pointCells(target: object, store: CellStore): void {
  if (!cellSetOf(target)) throw new TypeError('this object keeps no counter cells');
  (target as WithCells)[CELLS] = store;
}

/**
 * Objects whose counters read as the total over every data-plane worker
 * when read through statisticsOf(): set by a worker for its own objects,
 * whose properties are this worker's share (the query path adds to them).
 */
const totals = new WeakMap<object, object>();

/** A worker: reading `twin`'s counters gives the totals of `target`'s. */
export function setTotalsOf(target: object, twin: object): void {
  totals.set(target, twin);
}

/**
 * What statistics functions read (getStatisticsCounters, Server:getOutstanding …):
 * in a data-plane worker an object whose counter properties are the totals
 * over every worker (only those properties may be read from it), elsewhere
 * `target` itself (the control plane's objects already read as totals).
 */
export function statisticsOf<T extends object>(target: T): T {
  return (totals.get(target) as T | undefined) ?? target;
}
