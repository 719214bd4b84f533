/**
 * Counting ring entries per client range: the one walk dnsdist's dynamic
 * block rules and the legacy `exceed*()` functions are built on.
 *
 * A walk takes a list of counters and visits each ring entry once. For
 * every entry it decides, counter by counter, whether the entry counts
 * (inside the counter's time window and passing its filters), and adds it
 * to the totals of the entry's client range. So one walk feeds all the
 * rules of a group: a query-rate rule and two qtype rules are three
 * counters of a single query walk, and every response rule (byte rate,
 * rcode rates, the total-responses denominator of rcode ratios) a counter
 * of a single response walk.
 *
 * Window semantics are dnsdist's (1.7.3 `DynBlockRulesGroup` and
 * `exceed*Gen`): an entry newer than `now` is skipped; an entry counts
 * when `cutOff <= time <= now`; each counter remembers the time of the
 * oldest entry it counted, for rules whose window is "the whole ring"
 * (seconds = 0).
 *
 * Example, a group with setQueryRate(50, 10, ...) and setQTypeRate(ANY, 5, 2, ...):
 *
 * ```ts
 * const now = performance.now();
 * const r = rings.countQueriesByClient(now, masks, [
 *   { cutOff: cutOffFor(now, 10) },
 *   { cutOff: cutOffFor(now, 2), qtype: QType.ANY },
 * ]);
 * for (const range of r.clients.values()) {
 *   if (rateExceeded(range.counts[0]!, 50, 10, r.oldest[0]!, now)) block(range, ...);
 *   else if (rateExceeded(range.counts[1]!, 5, 2, r.oldest[1]!, now)) block(range, ...);
 * }
 * ```
 */
import { ClientKeyer, type ClientKey, type ClientMasks, type ClientRange } from './client-range.js';
import { rcodeOf } from './dns-header-names.js';
import type { QueryRing } from './query-ring.js';
import { QueryEntry, ResponseEntry } from './ring-entry.js';
import type { ResponseRing } from './response-ring.js';

/** One total computed by a query walk. */
export interface QueryCounter {
  /** Oldest receive time counted (ms, inclusive); `-Infinity` for the whole ring. See {@link cutOffFor}. */
  readonly cutOff: number;
  /** Count only queries of this type. */
  readonly qtype?: number;
  /** Further test, called only for entries inside the window that passed `qtype`. */
  readonly filter?: (entry: QueryEntry) => boolean;
}

/** One total computed by a response walk. */
export interface ResponseCounter {
  /** Oldest answer time counted (ms, inclusive); `-Infinity` for the whole ring. */
  readonly cutOff: number;
  /** Count only answers with this header RCODE (timeouts have RCODE 0, as in dnsdist). */
  readonly rcode?: number;
  /** 'responses' (default) adds 1 per answer, 'bytes' adds the answer's size. */
  readonly measure?: 'responses' | 'bytes';
  /** Further test, called only for entries inside the window that passed `rcode`. */
  readonly filter?: (entry: ResponseEntry) => boolean;
}

/** What a walk found. */
export interface ClientCounts {
  /** The `now` of the walk (ms). */
  readonly now: number;
  /** Per counter: time of the oldest entry it counted, or `now` if it counted none. */
  readonly oldest: Float64Array;
  /** The client ranges at least one counter counted, in the order first met. */
  readonly clients: Map<ClientKey, ClientRange>;
}

/**
 * The cut-off for a window of `seconds` ending at `now` (ms): `now`
 * minus the seconds, or `-Infinity` for 0, dnsdist's "whole ring".
 */
export function cutOffFor(now: number, seconds: number): number {
  return seconds !== 0 ? now - seconds * 1000 : -Infinity;
}

/**
 * dnsdist's threshold test: `count > rate × seconds`, strictly greater.
 * With `seconds` = 0 the window is the age of the oldest counted entry,
 * `(now - oldest) / 1000`.
 *
 * Note: dnsdist 1.7.3 computes that age with its arguments swapped
 * (`DiffTime(now, minTime)` is `minTime - now`), so there a 0-second rule
 * or `exceedQRate(rate, 0)` flags every client with at least one entry.
 * We implement the documented intent instead.
 */
export function rateExceeded(count: number, rate: number, seconds: number, oldest: number, now: number): boolean {
  const span = seconds !== 0 ? seconds : (now - oldest) / 1000;
  return count > rate * span;
}

function prepare(counters: readonly { cutOff: number }[], now: number): { cutOffs: Float64Array; oldest: Float64Array } {
  const cutOffs = new Float64Array(counters.length);
  for (let c = 0; c < counters.length; c++) cutOffs[c] = counters[c]!.cutOff;
  return { cutOffs, oldest: new Float64Array(counters.length).fill(now) };
}

/**
 * Walk the query ring shards once and total `counters` per client range
 * (client addresses grouped by `masks`).
 *
 * @throws RingArgumentError on invalid masks.
 */
export function countQueriesByClient(
  rings: readonly QueryRing[],
  now: number,
  masks: ClientMasks,
  counters: readonly QueryCounter[],
): ClientCounts {
  const keyer = new ClientKeyer(masks);
  const n = counters.length;
  const { cutOffs, oldest } = prepare(counters, now);
  const qtypes = Int32Array.from(counters, (c) => c.qtype ?? -1);
  const filters = counters.map((c) => c.filter);
  const hasFilter = filters.some((f) => f !== undefined);
  const matched = new Uint8Array(n);
  const entry = new QueryEntry();
  const clients = new Map<ClientKey, ClientRange>();

  for (const ring of rings) {
    const { time, qtype, client } = ring;
    for (let k = 0, count = ring.count; k < count; k++) {
      const i = ring.slot(k);
      const t = time[i]!;
      if (t > now) continue;
      let any = false;
      for (let c = 0; c < n; c++) {
        let m = t >= cutOffs[c]! && (qtypes[c]! < 0 || qtypes[c] === qtype[i]);
        if (m && hasFilter) {
          const f = filters[c];
          if (f !== undefined) m = f(entry.moveTo(ring, i));
        }
        matched[c] = m ? 1 : 0;
        any ||= m;
      }
      const remote = client[i];
      if (!any || !remote) continue;
      const key = keyer.key(remote);
      let range = clients.get(key);
      if (range === undefined) {
        range = keyer.range(remote, n);
        clients.set(key, range);
      }
      const totals = range.counts;
      for (let c = 0; c < n; c++) {
        if (matched[c] === 0) continue;
        totals[c] = totals[c]! + 1;
        if (t < oldest[c]!) oldest[c] = t;
      }
    }
  }
  return { now, oldest, clients };
}

/**
 * Walk the response ring shards once and total `counters` per client
 * range (client addresses grouped by `masks`).
 *
 * @throws RingArgumentError on invalid masks.
 */
export function countResponsesByClient(
  rings: readonly ResponseRing[],
  now: number,
  masks: ClientMasks,
  counters: readonly ResponseCounter[],
): ClientCounts {
  const keyer = new ClientKeyer(masks);
  const n = counters.length;
  const { cutOffs, oldest } = prepare(counters, now);
  const rcodes = Int32Array.from(counters, (c) => c.rcode ?? -1);
  const bytes = Uint8Array.from(counters, (c) => (c.measure === 'bytes' ? 1 : 0));
  const filters = counters.map((c) => c.filter);
  const hasFilter = filters.some((f) => f !== undefined);
  const matched = new Uint8Array(n);
  const entry = new ResponseEntry();
  const clients = new Map<ClientKey, ClientRange>();

  for (const ring of rings) {
    const { time, flags, size, client } = ring;
    for (let k = 0, count = ring.count; k < count; k++) {
      const i = ring.slot(k);
      const t = time[i]!;
      if (t > now) continue;
      let any = false;
      for (let c = 0; c < n; c++) {
        let m = t >= cutOffs[c]! && (rcodes[c]! < 0 || rcodes[c] === rcodeOf(flags[i]!));
        if (m && hasFilter) {
          const f = filters[c];
          if (f !== undefined) m = f(entry.moveTo(ring, i));
        }
        matched[c] = m ? 1 : 0;
        any ||= m;
      }
      const remote = client[i];
      if (!any || !remote) continue;
      const key = keyer.key(remote);
      let range = clients.get(key);
      if (range === undefined) {
        range = keyer.range(remote, n);
        clients.set(key, range);
      }
      const totals = range.counts;
      for (let c = 0; c < n; c++) {
        if (matched[c] === 0) continue;
        totals[c] = totals[c]! + (bytes[c] === 1 ? size[i]! : 1);
        if (t < oldest[c]!) oldest[c] = t;
      }
    }
  }
  return { now, oldest, clients };
}
