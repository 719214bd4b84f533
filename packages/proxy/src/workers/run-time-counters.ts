/**
 * The counters of backends and rules added at run time (console changes,
 * worker-config-log.ts), copied from the data-plane workers and summed
 * (counter-layout.ts); the configuration's are read live (live-counters.ts),
 * whose layout is fixed for good, so that a restarted worker's regions line
 * up. What the console added has a region of its own per worker in a
 * SharedArrayBuffer: [generation, slot count, values…], laid out again by
 * every thread after each change it runs. The generation is the id of the
 * last change the thread ran: the control plane sums a worker's region
 * only once both are at the same change, keeping the last sum it made
 * meanwhile, and keeps a dead worker's counters so totals never go back.
 */
import type { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { CounterLayout, type LayoutObjects } from './counter-layout.js';

/** Doubles each worker's region holds: room for about 150 backends or 2,000 rules added at run time. */
export const RUN_TIME_REGION = 2048;

/** How long the control plane's totals wait for every worker to lay its region out again after a change. */
const SETTLE_MS = 2000;

export class RunTimeCounters {
  readonly #configuration: Set<object>;
  #layout: CounterLayout | undefined;
  #generation = 0;
  /** Control plane: counters of dead workers, by object and property. */
  readonly #retired = new Map<object, Map<string, number>>();
  /** Control plane: each worker's last values read at the current generation. */
  readonly #last: Array<Float64Array | undefined> = [];
  #overflow = false;
  #rebuiltAt = 0;

  /** @param configuration the configuration's backends and rule entries (CounterLayout.objectsOf before any change). */
  constructor(configuration: LayoutObjects) {
    this.#configuration = new Set([...configuration.servers, ...configuration.rules.flat()]);
  }

  /** A worker's region of `buffer`. */
  static region(buffer: SharedArrayBuffer, index: number): Float64Array {
    return new Float64Array(buffer, index * RUN_TIME_REGION * 8, RUN_TIME_REGION);
  }

  /** The objects added since the configuration, in the proxy's order now; `generation` is the change just run. */
  rebuild(proxy: DnsdistProxy, generation: number): void {
    const rules = CounterLayout.objectsOf(proxy).rules.map((chain) => chain.filter((e) => !this.#configuration.has(e)));
    const servers = proxy.servers.filter((s) => !this.#configuration.has(s));
    this.#layout = servers.length + rules.flat().length > 0 ? new CounterLayout({ servers, rules }) : undefined;
    this.#generation = generation;
    this.#rebuiltAt = performance.now();
    this.#last.length = 0;
    this.#overflow = (this.#layout?.rowLength ?? 0) + 1 > RUN_TIME_REGION;
  }

  /** Whether the objects added at run time need more room than a region has (their counters are then not summed). */
  get overflow(): boolean {
    return this.#overflow;
  }

  /** Worker side: publish this thread's values. */
  write(region: Float64Array): void {
    const layout = this.#layout;
    if (!layout || this.#overflow) {
      region[1] = -1;
      region[0] = this.#generation;
      return;
    }
    layout.write(region.subarray(1, 1 + layout.rowLength));
    region[0] = this.#generation;
  }

  /** Control-plane side: set its objects added at run time to the workers' totals (plus those of dead workers). */
  sumInto(regions: readonly Float64Array[]): void {
    const layout = this.#layout;
    if (!layout || this.#overflow) return;
    const length = layout.rowLength;
    // Right after a change the workers are a moment behind: the totals wait for them rather than drop (at most SETTLE_MS).
    const behind = regions.some((region) => region[0] !== this.#generation || region[1] !== length - 1);
    if (behind && performance.now() - this.#rebuiltAt < SETTLE_MS) return;
    const rows: Float64Array[] = [];
    regions.forEach((region, i) => {
      if (region[0] === this.#generation && region[1] === length - 1) this.#last[i] = region.slice(1, 1 + length);
      const last = this.#last[i];
      if (last) rows.push(last);
    });
    layout.sumInto(rows, this.#retiredRow(layout));
  }

  /** Control-plane side: worker `index` died; its counters stay in the totals. */
  retire(index: number, region: Float64Array): void {
    const layout = this.#layout;
    const last = region[0] === this.#generation && layout && region[1] === layout.rowLength - 1 ? region.slice(1) : this.#last[index];
    this.#last[index] = undefined;
    region.fill(0);
    if (!layout || !last) return;
    layout.identities().forEach((slot, i) => {
      if (slot.kind !== 'counter') return;
      const byKey = this.#retired.get(slot.target) ?? new Map<string, number>();
      byKey.set(slot.key, (byKey.get(slot.key) ?? 0) + CounterLayout.value(last.subarray(0, layout.rowLength), i));
      this.#retired.set(slot.target, byKey);
    });
  }

  #retiredRow(layout: CounterLayout): Float64Array {
    const row = new Float64Array(layout.rowLength);
    layout.identities().forEach((slot, i) => (row[1 + i] = this.#retired.get(slot.target)?.get(slot.key) ?? 0));
    return row;
  }
}
