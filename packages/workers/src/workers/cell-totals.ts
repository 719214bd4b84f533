/**
 * How the control plane and the workers combine one counter cell over the
 * workers' regions of shared memory (live-counters.ts for the
 * configuration's objects, run-time-counters.ts for those added at the
 * console): counters and gauges add up, high-water marks take the highest,
 * moving averages are averaged over the workers that have one. The base is
 * what the control plane holds for the cell: what dead workers counted and
 * what it added itself.
 */
import { cellSetOf, pointCells, setTotalsOf, type CellKind, type CellStore } from '@dnsdist-ts/dataplane/stats/counter-cells.js';

/**
 * The total of a cell of `kind` from its values over the regions: their
 * sum, their largest and how many are not 0, and the base.
 */
export function combinedCell(kind: CellKind, sum: number, max: number, nonZero: number, base: number): number {
  if (kind === 'counter' || kind === 'gauge') return sum + base;
  if (kind === 'max') return Math.max(max, base);
  return nonZero > 0 ? sum / nonZero : 0;
}

/** The base of a cell of `kind` once a dead worker's value `value` joins it (gauges and averages go with the worker). */
export function baseWithRetired(kind: CellKind, base: number, value: number): number {
  if (kind === 'counter') return base + value;
  if (kind === 'max') return Math.max(base, value);
  return base;
}

/** The base of a cell of `kind` that reads `total` and is set to `value` (a counter set to 5 reads as 5). */
export function baseAfterWrite(kind: CellKind, base: number, total: number, value: number): number {
  if (kind === 'counter' || kind === 'gauge') return base + value - total;
  if (kind === 'max') return value;
  return base;
}

/** statisticsOf(`target`) reads `totals` from now on: a twin with `target`'s cells over that store. */
export function readTotalsFrom(target: object, totals: CellStore): void {
  const twin = Object.create(Object.getPrototypeOf(target) as object) as object;
  cellSetOf(target)!.install(twin);
  pointCells(twin, totals);
  setTotalsOf(target, twin);
}
