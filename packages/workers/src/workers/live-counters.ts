/**
 * The counters every reader sees as one process's, at once: the global
 * statistics and the configuration's backends', rules' and listeners'
 * counters live in a SharedArrayBuffer, not copied there. Each data-plane
 * worker's counters are its own region of it (its objects' cells point
 * there, stats/counter-cells.ts): the query path stores into it as into any
 * field, no lock, no atomic, no message. Whoever reads adds the regions up
 * when it reads: the control plane's objects (dumpStats, showBinds, the
 * API, /metrics, getServer(n)) and, in a worker, statisticsOf() of its own
 * objects (getStatisticsCounters(), Server:getOutstanding() from a
 * LuaAction).
 *
 * Buffer: one region per worker, then a base region the control plane
 * alone writes: what dead workers counted (so totals never go back) and
 * what the control plane itself added. A region is [cell count, cells…];
 * a worker's region counts once its first word says its layout matches.
 * An aligned 8-byte store is one machine store on the platforms Node
 * runs on, so a reader sees a value before or after an increment, never
 * a torn one; a worker increments before it answers, so a client that has
 * its answer reads a total that includes it.
 */
import { cellSetOf, cellsOf, pointCells, type CellKind, type CellStore } from '@dnsdist-ts/dataplane/stats/counter-cells.js';
import { baseAfterWrite, baseWithRetired, combinedCell, readTotalsFrom } from './cell-totals.js';
import type { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import type { LayoutObjects } from './counter-layout.js';

/** Region header: [cell count]. */
const HEADER = 1;

export class LiveCounters {
  readonly #targets: object[];
  readonly #offsets: number[] = [];
  readonly #kinds: CellKind[] = [];
  /** Cells in a region. */
  readonly size: number;

  /**
   * The objects with cells among the configuration's (the global counters,
   * each backend's, each rule's, each listener's), in the order every thread
   * lists them. Backends and rules added at the console are not among them:
   * theirs are copied (run-time-counters.ts).
   */
  static targetsOf(proxy: DnsdistProxy, objects: LayoutObjects): object[] {
    return [
      proxy.counters,
      ...(objects.servers as DnsdistProxy['servers']).flatMap((s) => [s.counters, s]),
      ...objects.rules.flat(),
      ...LiveCounters.listenerTargetsOf(proxy),
    ];
  }

  /**
   * Every listener's counter objects, in configuration order: plain (UDP
   * and TCP halves), DoT (TCP half, TLS counters, ticket keys), DoH (its
   * counters, per HTTP version, ticket keys), DNSCrypt (the listener, its
   * UDP and TCP halves). A worker lists its listeners, the control plane
   * its mirrors of them (worker-listeners.ts).
   */
  static listenerTargetsOf(proxy: DnsdistProxy): object[] {
    return [
      ...proxy.frontends.flatMap((f) => [f.udp, f.tcp]),
      ...proxy.tlsFrontends.flatMap((f) => [f.tcp, f.tls.counters, f.config.tls.ticketKeys]),
      ...proxy.dohFrontends.flatMap((d) => [d.counters, d.counters.http1, d.counters.http2, d.ticketKeys]),
      ...proxy.dnscryptBinds.flatMap((b) => [b, b.udpCounters, b.tcpCounters]),
    ];
  }

  constructor(targets: object[]) {
    this.#targets = targets;
    let size = 0;
    for (const t of targets) {
      const set = cellSetOf(t);
      if (!set) throw new TypeError('LiveCounters: an object without counter cells');
      this.#offsets.push(size);
      this.#kinds.push(...set.kinds);
      size += set.keys.length;
    }
    this.size = size;
  }

  /** Doubles a region takes. */
  get regionLength(): number {
    return HEADER + this.size;
  }

  /** A buffer for `workers` regions and the base region. */
  createBuffer(workers: number): SharedArrayBuffer {
    return new SharedArrayBuffer((workers + 1) * this.regionLength * 8);
  }

  /** The regions of `buffer` (workers', then the base), or undefined when its size is not this layout's for `workers`. */
  regions(buffer: SharedArrayBuffer, workers: number): Float64Array[] | undefined {
    if (buffer.byteLength !== (workers + 1) * this.regionLength * 8) return undefined;
    return Array.from({ length: workers + 1 }, (_, i) => new Float64Array(buffer, i * this.regionLength * 8, this.regionLength));
  }

  /**
   * Control plane: its objects read the totals from now on; what they hold
   * now goes to the base region. Writes to them add to the base region
   * (a counter it sets to 5 reads as 5).
   */
  attachControlPlane(regions: Float64Array[]): void {
    const base = regions.at(-1)!;
    base[0] = this.size;
    this.#targets.forEach((target, t) => {
      const own = cellsOf(target);
      const offset = this.#offsets[t]!;
      const n = cellSetOf(target)!.keys.length;
      for (let i = 0; i < n; i++) if (this.#kinds[offset + i] !== 'mean') base[HEADER + offset + i] = own[i]!;
      pointCells(target, this.#summing(regions, offset, true));
    });
  }

  /**
   * Worker `index`: its objects' counters move into its region (with what
   * they counted so far), and statisticsOf() of each gives the totals.
   */
  attachWorker(regions: Float64Array[], index: number): void {
    const region = regions[index]!;
    this.#targets.forEach((target, t) => {
      const own = cellsOf(target);
      const offset = this.#offsets[t]!;
      const n = cellSetOf(target)!.keys.length;
      const cells = region.subarray(HEADER + offset, HEADER + offset + n);
      for (let i = 0; i < n; i++) cells[i] = own[i]!;
      pointCells(target, cells);
      readTotalsFrom(target, this.#summing(regions, offset, false));
    });
    region[0] = this.size;
  }

  /**
   * Control plane: `targets` take the place of the objects listed at the
   * same positions (the listener mirrors made again once the workers bound
   * their ports) and read the same totals from now on.
   */
  replaceTargets(targets: readonly object[]): void {
    const before = this.#targets;
    if (targets.length !== before.length || targets.some((t, i) => cellSetOf(t) !== cellSetOf(before[i]!))) {
      throw new TypeError('LiveCounters: the new objects are not laid out as the ones they replace');
    }
    targets.forEach((target, i) => {
      if (target !== before[i]) pointCells(target, cellsOf(before[i]!));
      before[i] = target;
    });
  }

  /** Control plane: worker `index` died; its counters (and high-water marks) join the base region. */
  retire(regions: Float64Array[], index: number): void {
    const region = regions[index]!;
    const base = regions.at(-1)!;
    if (region[0] === this.size) {
      for (let j = 0; j < this.size; j++) {
        base[HEADER + j] = baseWithRetired(this.#kinds[j]!, base[HEADER + j]!, region[HEADER + j]!);
      }
    }
    region.fill(0);
  }

  /** Worker `index`'s own value of `target`'s counter `key` (0 until it attached). */
  workerValue(regions: Float64Array[], index: number, target: object, key: string): number {
    const t = this.#targets.indexOf(target);
    const region = regions[index];
    if (t < 0 || !region || region[0] !== this.size) return 0;
    const i = cellSetOf(target)!.keys.indexOf(key);
    return i < 0 ? 0 : region[HEADER + this.#offsets[t]! + i]!;
  }

  /** The total of cell `j` over the workers' regions that match and the base. */
  #total(regions: Float64Array[], j: number): number {
    const last = regions.length - 1;
    let total = 0;
    let n = 0;
    let max = 0;
    for (let w = 0; w < last; w++) {
      const region = regions[w]!;
      if (region[0] !== this.size) continue;
      const v = region[HEADER + j]!;
      total += v;
      if (v > max) max = v;
      if (v !== 0) n++;
    }
    return combinedCell(this.#kinds[j]!, total, max, n, regions[last]![HEADER + j]!);
  }

  /**
   * A store whose cell i reads the total of cell offset + i. Control plane
   * (`writable`): a write moves the base region by the difference; a
   * worker's totals are read-only (its query path writes its own region).
   */
  #summing(regions: Float64Array[], offset: number, writable: boolean): CellStore {
    const base = regions.at(-1)!;
    return new Proxy({} as CellStore, {
      get: (_, prop) => (typeof prop === 'string' ? this.#total(regions, offset + Number(prop)) : undefined),
      set: (_, prop, value: number) => {
        if (!writable || typeof prop !== 'string') return true;
        const j = offset + Number(prop);
        base[HEADER + j] = baseAfterWrite(this.#kinds[j]!, base[HEADER + j]!, this.#total(regions, j), value);
        return true;
      },
    });
  }
}
