/**
 * The counters the control plane shows that are not read live
 * (live-counters.ts has the global statistics and the configuration's
 * backends and rules), as one flat list of slots in an order each thread
 * derives from its own copy of the configuration: per listener (plain, DoT
 * with its TLS counters, DoH with its HTTP counters, DNSCrypt), and the
 * backends and rules added at the console (run-time-counters.ts).
 * A worker copies its values into its row of a SharedArrayBuffer a few
 * times a second (no lock, no message per query); the control plane adds
 * the rows up into its own objects, which dumpStats, the API and /metrics
 * read as they always did.
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

/**
 * The backends and rules a layout lists: the configuration's, taken before
 * a restarted worker replays the console's changes, so that its rows line
 * up with the control plane's (objects added at run time: run-time-counters.ts).
 */
export interface LayoutObjects {
  servers: readonly object[];
  rules: ReadonlyArray<readonly object[]>;
  /** false: only these backends and rules, without the global and per-listener counters (run-time-counters.ts). */
  withGlobals?: boolean;
}

/** Row header: [slot count]. */
const HEADER = 1;

/** The slots of one thread's proxy, in the order every thread lists them. */
export class CounterLayout {
  readonly #slots: Slot[] = [];
  /** The configuration's objects with cells are shared live (live-counters.ts), not copied. */
  readonly #skipCells: boolean;

  /** The backends and rule entries of `proxy` now. */
  static objectsOf(proxy: DnsdistProxy): LayoutObjects {
    const rules = proxy.rules as Partial<RuleChains>;
    return {
      servers: [...proxy.servers],
      rules: [rules.query, rules.response, rules.cacheHit, rules.selfAnswered].map((chain) => chain?.rules ?? []),
    };
  }

  constructor(proxy: DnsdistProxy, objects: LayoutObjects = CounterLayout.objectsOf(proxy)) {
    this.#skipCells = objects.withGlobals !== false;
    const c = proxy.counters as unknown as Record<string, number>;
    for (const key of objects.withGlobals === false ? [] : Object.keys(c)) {
      if (typeof c[key] !== 'number') continue;
      this.#add(key.startsWith('latencyAvg') ? 'mean' : 'counter', c, key);
    }
    for (const s of objects.servers as DnsdistProxy['servers']) {
      const sc = s.counters as unknown as Record<string, number>;
      for (const key of Object.keys(sc)) this.#add('counter', sc, key);
      const srv = s as unknown as Record<string, number>;
      this.#add('counter', srv, 'unexpectedAnswers');
      this.#add('gauge', srv, 'outstanding');
      this.#add('mean', srv, 'latencyUsec');
    }
    for (const f of objects.withGlobals === false ? [] : proxy.frontends) {
      const u = f.udp as unknown as Record<string, number>;
      for (const key of ['queries', 'responses', 'nonCompliantQueries']) this.#add('counter', u, key);
      this.#addTcp(f.tcp as unknown as Record<string, number>);
    }
    for (const f of objects.withGlobals === false ? [] : proxy.tlsFrontends) {
      this.#addTcp(f.tcp as unknown as Record<string, number>);
      const tc = f.tls.counters;
      tc.queriesByVersion.forEach((_, i) =>
        this.#addSlot(
          'counter',
          tc,
          `queriesByVersion.${i}`,
          () => tc.queriesByVersion[i]!,
          (v) => (tc.queriesByVersion[i] = v),
        ),
      );
      this.#add('counter', tc as unknown as Record<string, number>, 'newSessions');
      this.#add('counter', tc as unknown as Record<string, number>, 'resumptions');
      const ring = f.config.tls.ticketKeys as unknown as Record<string, number>;
      this.#add('counter', ring, 'unknownTicketKeys');
      this.#add('counter', ring, 'inactiveTicketKeys');
      for (const kind of tc.handshakeFailures.keys()) {
        this.#addSlot(
          'counter',
          tc,
          `handshakeFailures.${kind}`,
          () => tc.handshakeFailures.get(kind) ?? 0,
          (v) => tc.handshakeFailures.set(kind, v),
        );
      }
    }
    for (const d of objects.withGlobals === false ? [] : proxy.dohFrontends) {
      const dc = d.counters as unknown as Record<string, number>;
      for (const key of Object.keys(dc)) {
        if (typeof dc[key] !== 'number') continue;
        this.#add(key === 'currentConnections' ? 'gauge' : key === 'maxConcurrentConnections' ? 'max' : 'counter', dc, key);
      }
      for (const version of [d.counters.http1, d.counters.http2]) {
        const vc = version as unknown as Record<string, number>;
        for (const key of Object.keys(vc)) if (typeof vc[key] === 'number') this.#add('counter', vc, key);
      }
      const ring = d.ticketKeys as unknown as Record<string, number>;
      this.#add('counter', ring, 'unknownTicketKeys');
      this.#add('counter', ring, 'inactiveTicketKeys');
    }
    for (const b of objects.withGlobals === false ? [] : proxy.dnscryptBinds) {
      for (const fc of [b.udpCounters, b.tcpCounters]) {
        for (const key of ['queries', 'responses', 'nonCompliantQueries'])
          this.#add('counter', fc as unknown as Record<string, number>, key);
      }
      const bc = b as unknown as Record<string, number>;
      this.#add('counter', bc, 'invalidQueries');
      this.#add('gauge', bc, 'tcpCurrentConnections');
      this.#add('max', bc, 'tcpMaxConcurrentConnections');
      this.#add('mean', bc, 'tcpAvgQueriesPerConnection');
      this.#add('mean', bc, 'tcpAvgConnectionDuration');
    }
    for (const chain of objects.rules) {
      for (const entry of chain) this.#add('counter', entry as unknown as Record<string, number>, 'hits');
    }
  }

  #add(kind: SlotKind, target: Record<string, number>, key: string): void {
    if (this.#skipCells && cellSetOf(target)) return;
    this.#slots.push({ kind, target, key, get: () => target[key] ?? 0, set: (v) => (target[key] = v) });
  }

  /** A slot whose value is not a plain property (an array element, a map entry); `key` names it. */
  #addSlot(kind: SlotKind, target: object, key: string, get: () => number, set: (v: number) => void): void {
    this.#slots.push({ kind, target, key, get, set });
  }

  /** A TCP listener's counters (plain or DoT). */
  #addTcp(t: Record<string, number>): void {
    for (const key of ['queries', 'responses', 'nonCompliantQueries', 'maxConcurrentConnectionsReached', 'readDeadlineClosures']) {
      this.#add('counter', t, key);
    }
    this.#add('gauge', t, 'currentConnections');
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
