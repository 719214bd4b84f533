/**
 * The counters of backends and rules added at the console, as one flat list
 * of slots in an order each thread derives from its own proxy (the
 * configuration's objects, listeners included, are read live instead:
 * live-counters.ts). A worker copies its values into its row of a
 * SharedArrayBuffer a few times a second (no lock, no message per query);
 * the control plane adds the rows up into its own objects
 * (run-time-counters.ts), which dumpStats, the API and /metrics read.
 */
import type { RuleChains } from '@dnsdist-ts/dataplane/rules/index.js';
import { cellSetOf } from '@dnsdist-ts/dataplane/stats/counter-cells.js';
import type { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';

/**
 * How a slot is combined across workers: counters add up and survive a
 * worker's restart, gauges (in flight now) add up, moving averages are
 * averaged over the workers that have one, high-water marks take the highest.
 */
export type SlotKind = 'counter' | 'gauge' | 'mean' | 'max';

interface Slot {
  kind: SlotKind;
  target: object;
  key: string;
  get(): number;
  set(value: number): void;
}

/** Backends and rule entries (by chain): the configuration's, or those added since (run-time-counters.ts). */
export interface LayoutObjects {
  servers: readonly object[];
  rules: ReadonlyArray<readonly object[]>;
}

/** Row header: [slot count]. */
const HEADER = 1;

/** The slots of the backends and rules given, in the order every thread lists them. */
export class CounterLayout {
  readonly #slots: Slot[] = [];

  /** The backends and rule entries of `proxy` now. */
  static objectsOf(proxy: DnsdistProxy): LayoutObjects {
    const rules = proxy.rules as Partial<RuleChains>;
    return {
      servers: [...proxy.servers],
      rules: [rules.query, rules.response, rules.cacheHit, rules.selfAnswered].map((chain) => chain?.rules ?? []),
    };
  }

  constructor(objects: LayoutObjects) {
    for (const s of objects.servers as DnsdistProxy['servers']) {
      this.#addCells(s.counters);
      this.#addCells(s);
    }
    for (const chain of objects.rules) for (const entry of chain) this.#addCells(entry);
  }

  /** Every counter of an object with cells, combined as its cell says. */
  #addCells(target: object): void {
    const set = cellSetOf(target);
    if (!set) throw new TypeError('CounterLayout: an object without counter cells');
    set.keys.forEach((key, i) => this.#add(set.kinds[i]!, target as Record<string, number>, key));
  }

  #add(kind: SlotKind, target: Record<string, number>, key: string): void {
    this.#slots.push({ kind, target, key, get: () => target[key] ?? 0, set: (v) => (target[key] = v) });
  }

  /** Each slot's object and property, in row order: what a slot means when the layout is built again. */
  identities(): Array<{ kind: SlotKind; target: object; key: string }> {
    return this.#slots.map(({ kind, target, key }) => ({ kind, target, key }));
  }

  /** Slots in a row. */
  get size(): number {
    return this.#slots.length;
  }

  /** Doubles one worker's row takes in the shared buffer. */
  get rowLength(): number {
    return HEADER + this.#slots.length;
  }

  /** Worker side: copy this thread's values into its row. */
  write(row: Float64Array): void {
    const slots = this.#slots;
    for (let i = 0; i < slots.length; i++) row[HEADER + i] = slots[i]!.get();
    row[0] = slots.length;
  }

  /** The row's values for slot i, or 0 when the worker has not written a matching row yet. */
  static value(row: Float64Array, i: number): number {
    return row[0] === row.length - HEADER ? row[HEADER + i]! : 0;
  }

  /**
   * Control-plane side: set this thread's objects to the workers' totals.
   * `retired` holds the counters of workers that died (added so totals
   * never go backwards), as a row of the same shape.
   */
  sumInto(rows: readonly Float64Array[], retired: Float64Array): void {
    const slots = this.#slots;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      let total = 0;
      let n = 0;
      let max = 0;
      for (const row of rows) {
        const v = CounterLayout.value(row, i);
        total += v;
        if (v > max) max = v;
        if (v !== 0) n++;
      }
      if (slot.kind === 'counter') slot.set(total + retired[HEADER + i]!);
      else if (slot.kind === 'max') slot.set(Math.max(max, retired[HEADER + i]!));
      else if (slot.kind === 'gauge') slot.set(total);
      else slot.set(n > 0 ? total / n : 0);
    }
  }

  /** A worker's row is gone (it died): keep its counters in `retired`. */
  retire(row: Float64Array, retired: Float64Array): void {
    const slots = this.#slots;
    for (let i = 0; i < slots.length; i++) {
      const kind = slots[i]!.kind;
      if (kind === 'counter') retired[HEADER + i]! += CounterLayout.value(row, i);
      else if (kind === 'max') retired[HEADER + i] = Math.max(retired[HEADER + i]!, CounterLayout.value(row, i));
    }
    retired[0] = slots.length;
    row.fill(0);
  }
}
