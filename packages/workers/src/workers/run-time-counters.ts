/**
 * The counters of backends and rules added at run time (console changes,
 * worker-config-log.ts), read live like the configuration's
 * (live-counters.ts): each worker's objects count straight into its region
 * of a SharedArrayBuffer, and the control plane's objects add the regions up
 * when read. The configuration's layout is fixed for good (a restarted
 * worker's region lines up); this one changes with every change a thread
 * runs, and the workers run a change a moment after the control plane.
 *
 * A worker's region: [generation × 2 + half, then two halves of
 * [cell count, cells…]]. The generation is the id of the last change the
 * worker ran; after each one it lays its objects out again in the half it is
 * not using, their values carried over, points their cells there, then
 * switches to it in one store, so a reader sees either layout whole. The
 * control plane keeps the layout of every generation a region may still be
 * at, by its own objects (each thread lists the objects added since the
 * configuration in the same order), and reads each region by its own
 * generation's layout: an object that exists in both keeps counting across
 * a change, whichever worker has run it yet. What dead workers counted and
 * what the control plane itself adds stays per object in the control plane.
 */
import { cellSetOf, cellsOf, pointCells, setTotalsOf, type CellKind, type CellStore } from '@dnsdist-ts/dataplane/stats/counter-cells.js';
import { baseAfterWrite, baseWithRetired, combinedCell, readTotalsFrom } from './cell-totals.js';
import type { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { layoutObjectsOf, type LayoutObjects } from './counter-layout.js';

/** Doubles each worker's region holds: two halves of about 2,000 cells (about 95 backends or 2,000 rules added at run time). */
export const RUN_TIME_REGION = 4096;

/** Region header: [generation × 2 + the half in use]. */
const HEADER = 1;
/** Doubles in a half: [cell count, cells…]. */
const HALF = (RUN_TIME_REGION - HEADER) >> 1;

/** Where the cells of each object added at run time are in a half, for one generation. */
interface Layout {
  size: number;
  offsets: Map<object, number>;
}

export class RunTimeCounters {
  readonly #configuration: Set<object>;
  #overflow = false;
  /** Worker: the objects whose cells are in its region now. */
  #attached: object[] = [];
  /** Control plane: the layout of every generation a worker's region may be at (by the control plane's objects). */
  readonly #layouts = new Map<number, Layout>([[0, { size: 0, offsets: new Map() }]]);
  /** Control plane: per object, what dead workers counted and what the control plane itself added. */
  readonly #base = new Map<object, Float64Array>();
  /** Control plane: every worker's region. */
  #regions: readonly Float64Array[] = [];

  /** @param configuration the configuration's backends and rule entries (layoutObjectsOf before any change). */
  constructor(configuration: LayoutObjects) {
    this.#configuration = new Set([...configuration.servers, ...configuration.rules.flat()]);
  }

  /** A worker's region of `buffer`. */
  static region(buffer: SharedArrayBuffer, index: number): Float64Array {
    return new Float64Array(buffer, index * RUN_TIME_REGION * 8, RUN_TIME_REGION);
  }

  /** Whether the objects added at run time need more room than a half has (their counters are then each thread's own). */
  get overflow(): boolean {
    return this.#overflow;
  }

  /** The objects with cells added since the configuration, in the proxy's order now. */
  #objectsAdded(proxy: DnsdistProxy): object[] {
    const rules = layoutObjectsOf(proxy)
      .rules.flat()
      .filter((e) => !this.#configuration.has(e));
    const servers = proxy.servers.filter((s) => !this.#configuration.has(s));
    return [...servers.flatMap((s) => [s.counters, s]), ...rules];
  }

  static #layoutOf(objects: readonly object[]): Layout {
    const offsets = new Map<object, number>();
    let size = 0;
    for (const target of objects) {
      offsets.set(target, size);
      size += cellSetOf(target)!.keys.length;
    }
    return { size, offsets };
  }

  /** Control plane: the workers' regions, read from now on. */
  attachControlPlane(regions: readonly Float64Array[]): void {
    this.#regions = regions;
  }

  /** Control plane: change `generation` ran here; its objects added at run time read every worker's counts from now on. */
  controlPlaneRan(proxy: DnsdistProxy, generation: number): void {
    const objects = this.#objectsAdded(proxy);
    const layout = RunTimeCounters.#layoutOf(objects);
    this.#overflow = 1 + layout.size > HALF;
    const atWork = new Set(this.#regions.map((r) => Math.floor(r[0]! / 2)));
    for (const g of this.#layouts.keys()) if (!atWork.has(g)) this.#layouts.delete(g);
    this.#layouts.set(generation, layout);
    for (const target of objects) {
      if (this.#base.has(target)) continue;
      const set = cellSetOf(target)!;
      const own = cellsOf(target);
      const base = new Float64Array(set.keys.length);
      for (let i = 0; i < base.length; i++) if (set.kinds[i] !== 'mean') base[i] = own[i]!;
      this.#base.set(target, base);
      pointCells(target, this.#summing(target, set.kinds, base));
    }
    for (const target of this.#base.keys()) if (!layout.offsets.has(target)) this.#base.delete(target);
  }

  /**
   * Worker `index`: change `generation` ran here (0: none since start-up); its
   * objects added at run time count in its region of `regions` from now on,
   * and statisticsOf() of each reads the total over the workers that ran
   * the same change (a worker a change behind is left out until it runs it).
   */
  workerRan(proxy: DnsdistProxy, generation: number, regions: readonly Float64Array[], index: number): void {
    const region = regions[index]!;
    const objects = this.#objectsAdded(proxy);
    const layout = RunTimeCounters.#layoutOf(objects);
    // What each counted so far, wherever its cells are now.
    const values = new Map<object, Float64Array>();
    for (const target of new Set([...this.#attached, ...objects])) {
      const n = cellSetOf(target)!.keys.length;
      const cells = cellsOf(target);
      values.set(
        target,
        Float64Array.from({ length: n }, (_, i) => cells[i]!),
      );
    }
    // Objects removed meanwhile (a query still in flight may count on them) leave the region.
    for (const target of this.#attached) {
      if (layout.offsets.has(target)) continue;
      pointCells(target, values.get(target)!);
      setTotalsOf(target, target);
    }
    this.#overflow = 1 + layout.size > HALF;
    const next = (region[0]! % 2 === 0 ? 1 : 0) as 0 | 1;
    const half = region.subarray(HEADER + next * HALF, HEADER + (next + 1) * HALF);
    if (this.#overflow) {
      for (const target of objects) {
        pointCells(target, values.get(target)!);
        setTotalsOf(target, target);
      }
      this.#attached = [];
      half[0] = -1;
    } else {
      for (const target of objects) {
        const offset = 1 + layout.offsets.get(target)!;
        const cells = half.subarray(offset, offset + values.get(target)!.length);
        cells.set(values.get(target)!);
        pointCells(target, cells);
        readTotalsFrom(target, RunTimeCounters.#sameGeneration(regions, generation, layout.size, offset, cellSetOf(target)!.kinds));
      }
      this.#attached = objects;
      half[0] = layout.size;
    }
    region[0] = generation * 2 + next;
  }

  /** A worker's read-only view: cell k is the total of cell `offset` + k over the regions at `generation` with a layout of `size` cells. */
  static #sameGeneration(
    regions: readonly Float64Array[],
    generation: number,
    size: number,
    offset: number,
    kinds: readonly CellKind[],
  ): CellStore {
    return new Proxy({} as CellStore, {
      get: (_, prop) => {
        if (typeof prop !== 'string') return undefined;
        const k = Number(prop);
        let total = 0;
        let n = 0;
        let max = 0;
        for (const region of regions) {
          const header = region[0]!;
          const half = HEADER + (header % 2) * HALF;
          if (Math.floor(header / 2) !== generation || region[half] !== size) continue;
          const v = region[half + offset + k]!;
          total += v;
          if (v > max) max = v;
          if (v !== 0) n++;
        }
        return combinedCell(kinds[k]!, total, max, n, 0);
      },
      set: () => true,
    });
  }

  /** Control plane: worker `index` died; its counters (and high-water marks) stay in the totals. */
  retire(index: number): void {
    const region = this.#regions[index];
    if (!region) return;
    for (const [target, base] of this.#base) {
      const kinds = cellSetOf(target)!.kinds;
      for (let k = 0; k < base.length; k++) {
        const v = RunTimeCounters.#value(this.#layouts, region, target, k);
        if (v === undefined) break;
        base[k] = baseWithRetired(kinds[k]!, base[k]!, v);
      }
    }
    region.fill(0);
  }

  /** Cell k of `target` in `region`, or undefined when the region does not hold it (another layout, or none). */
  static #value(layouts: ReadonlyMap<number, Layout>, region: Float64Array, target: object, k: number): number | undefined {
    const header = region[0]!;
    const layout = layouts.get(Math.floor(header / 2));
    const offset = layout?.offsets.get(target);
    if (offset === undefined) return undefined;
    const half = HEADER + (header % 2) * HALF;
    if (region[half] !== layout!.size) return undefined;
    return region[half + 1 + offset + k];
  }

  #total(target: object, kind: CellKind, base: Float64Array, k: number): number {
    let total = 0;
    let n = 0;
    let max = 0;
    for (const region of this.#regions) {
      const v = RunTimeCounters.#value(this.#layouts, region, target, k);
      if (v === undefined) continue;
      total += v;
      if (v > max) max = v;
      if (v !== 0) n++;
    }
    return combinedCell(kind, total, max, n, base[k]!);
  }

  /** A store whose cell k reads `target`'s total over the workers; a write moves the base by the difference. */
  #summing(target: object, kinds: readonly CellKind[], base: Float64Array): CellStore {
    return new Proxy({} as CellStore, {
      get: (_, prop) => (typeof prop === 'string' ? this.#total(target, kinds[Number(prop)]!, base, Number(prop)) : undefined),
      set: (_, prop, value: number) => {
        if (typeof prop !== 'string') return true;
        const k = Number(prop);
        base[k] = baseAfterWrite(kinds[k]!, base[k]!, this.#total(target, kinds[k]!, base, k), value);
        return true;
      },
    });
  }
}
