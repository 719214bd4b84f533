/**
 * dnsdist's console "top" analyses over the rings: topClients,
 * topQueries / getTopQueries, topResponses / getTopResponses, topSlow /
 * getSlowResponses and topBandwidth / getTopBandwidth.
 *
 * Each counts the whole ring (no time window), ranks by count, lists the
 * first N and sums the others into a "Rest" row. Ranking replays
 * dnsdist's sort on dnsdist's starting order (see libstdcxx-sort.ts), so
 * equally frequent entries come out in the same order too. The table
 * lines are dnsdist's `%4d  %-40s %4d %4.1f%%`.
 */
import type { SocketAddress } from '../query/client-address.js';
import { ClientKeyer, EXACT_CLIENT_MASKS, compareAddressOnly, type ClientKey } from './client-range.js';
import { rcodeOf } from './dns-header-names.js';
import { stdPartialSort, stdSort } from './libstdcxx-sort.js';
import { formatPrintf } from './printf-format.js';
import { compareWireReversed, lowerCaseWire, trimToLabels } from './qname-text.js';
import type { QueryRing } from './query-ring.js';
import { RingArgumentError, requireIntegerInRange } from './ring-argument-error.js';
import type { ResponseRing } from './response-ring.js';

/** One line of a top list: a name or address, its count, and its share of the total in percent. */
export interface TopRow {
  readonly name: string;
  readonly count: number;
  readonly percent: number;
}

interface Counted {
  readonly name: string;
  count: number;
}

const byCountDescending = (a: Counted, b: Counted): boolean => b.count < a.count;

function checkTop(top: number): void {
  requireIntegerInRange(top, 0, Number.MAX_SAFE_INTEGER - 1, 'the number of entries to show');
}

function checkLabels(labels: number | undefined): void {
  if (labels !== undefined && !Number.isInteger(labels)) {
    throw new RingArgumentError(`the number of labels to keep must be an integer, got ${String(labels)}`, labels);
  }
}

/** First `top` of the already sorted `sorted`, then the "Rest" row, as dnsdist builds them. */
function withRest(sorted: readonly Counted[], top: number, total: number): TopRow[] {
  const rows: TopRow[] = [];
  let rest = 0;
  for (const entry of sorted) {
    if (rows.length === top) rest += entry.count;
    else rows.push({ name: entry.name, count: entry.count, percent: (100 * entry.count) / total });
  }
  rows.push({ name: 'Rest', count: rest, percent: total > 0 ? (100 * rest) / total : 100 });
  return rows;
}

/** Print rows as dnsdist does, ranks from 1, the "Rest" row numbered after the last shown. */
export function formatTopRows(rows: readonly TopRow[]): string {
  let out = '';
  rows.forEach((row, i) => {
    out += formatPrintf('%4d  %-40s %4d %4.1f%%\n', [i + 1, row.name, row.count, row.percent]);
  });
  return out;
}

/** Counts per client address, in dnsdist's std::map order (ComboAddress::addressOnlyLessThan). */
function countByAddress(visit: (add: (client: SocketAddress, amount: number) => void) => void): { ordered: Counted[]; total: number } {
  const keyer = new ClientKeyer(EXACT_CLIENT_MASKS);
  const counts = new Map<ClientKey, { name: string; count: number; bytes: Uint8Array }>();
  let total = 0;
  visit((client, amount) => {
    total += amount;
    const key = keyer.key(client);
    const found = counts.get(key);
    if (found) found.count += amount;
    else counts.set(key, { name: client.address, count: amount, bytes: client.bytes });
  });
  const ordered = [...counts.values()].sort((a, b) => compareAddressOnly(a.bytes, b.bytes));
  return { ordered, total };
}

/** Counts per (trimmed, lower-cased) name, in dnsdist's std::map<DNSName> order. */
function countByName(raw: Map<string, number>, labels: number | undefined): Counted[] {
  const grouped = new Map<string, number>();
  for (const [name, count] of raw) {
    const key = (labels === undefined ? name : trimToLabels(name, labels)).toLowerCase();
    grouped.set(key, (grouped.get(key) ?? 0) + count);
  }
  const entries = [...grouped].map(([name, count]) => ({ name, count, wire: lowerCaseWire(name) }));
  entries.sort((a, b) => compareWireReversed(a.wire, b.wire));
  return entries.map(({ name, count }) => ({ name, count }));
}

function rankNames(raw: Map<string, number>, total: number, top: number, labels: number | undefined): TopRow[] {
  const ordered = countByName(raw, labels);
  stdSort(ordered, byCountDescending);
  return withRest(ordered, top, total);
}

/**
 * dnsdist's topClients(): clients (addresses, ports ignored) that sent the
 * most queries in the query ring, as printed text.
 *
 * @throws RingArgumentError when `top` is not a non-negative integer.
 */
export function topClients(rings: readonly QueryRing[], top = 10): string {
  checkTop(top);
  const { ordered, total } = countByAddress((add) => {
    for (const ring of rings) {
      for (let k = 0; k < ring.count; k++) {
        const client = ring.client[ring.slot(k)];
        if (client) add(client, 1);
      }
    }
  });
  stdSort(ordered, byCountDescending);
  return formatTopRows(withRest(ordered, top, total));
}

/**
 * dnsdist's getTopQueries(top, labels): the most frequent query names,
 * optionally cut to their last `labels` labels, lower-cased.
 *
 * @throws RingArgumentError on a bad `top` or a non-integer `labels`.
 */
export function getTopQueries(rings: readonly QueryRing[], top: number, labels?: number): TopRow[] {
  checkTop(top);
  checkLabels(labels);
  const raw = new Map<string, number>();
  let total = 0;
  for (const ring of rings) {
    for (let k = 0; k < ring.count; k++) {
      const name = ring.qname[ring.slot(k)]!;
      raw.set(name, (raw.get(name) ?? 0) + 1);
      total++;
    }
  }
  return rankNames(raw, total, top, labels);
}

/** dnsdist's topQueries(top = 10, labels): {@link getTopQueries} as printed text. */
export function topQueries(rings: readonly QueryRing[], top = 10, labels?: number): string {
  return formatTopRows(getTopQueries(rings, top, labels));
}

function topResponseNames(
  rings: readonly ResponseRing[],
  top: number,
  labels: number | undefined,
  matches: (ring: ResponseRing, slot: number) => boolean,
): TopRow[] {
  checkTop(top);
  checkLabels(labels);
  const raw = new Map<string, number>();
  let total = 0;
  for (const ring of rings) {
    for (let k = 0; k < ring.count; k++) {
      const i = ring.slot(k);
      if (!matches(ring, i)) continue;
      const name = ring.qname[i]!;
      raw.set(name, (raw.get(name) ?? 0) + 1);
      total++;
    }
  }
  return rankNames(raw, total, top, labels);
}

/** dnsdist's getTopResponses(top, kind, labels): the names most often answered with RCODE `kind`. */
export function getTopResponses(rings: readonly ResponseRing[], top: number, kind: number, labels?: number): TopRow[] {
  return topResponseNames(rings, top, labels, (ring, i) => rcodeOf(ring.flags[i]!) === kind);
}

/** dnsdist's topResponses(top = 10, kind = 0, labels) as printed text. */
export function topResponses(rings: readonly ResponseRing[], top = 10, kind = 0, labels?: number): string {
  return formatTopRows(getTopResponses(rings, top, kind, labels));
}

/**
 * dnsdist's getSlowResponses(top, msec, labels): the names most often
 * answered in more than `msec` milliseconds (timeouts included).
 */
export function getSlowResponses(rings: readonly ResponseRing[], top: number, msec: number, labels?: number): TopRow[] {
  const limit = msec * 1000;
  return topResponseNames(rings, top, labels, (ring, i) => ring.latency[i]! > limit);
}

/** dnsdist's topSlow(top = 10, msec = 500, labels) as printed text. */
export function topSlow(rings: readonly ResponseRing[], top = 10, msec = 500, labels?: number): string {
  return formatTopRows(getSlowResponses(rings, top, msec, labels));
}

/**
 * dnsdist's getTopBandwidth(top): clients by bytes of queries plus
 * answers in the rings.
 */
export function getTopBandwidth(queryRings: readonly QueryRing[], responseRings: readonly ResponseRing[], top: number): TopRow[] {
  checkTop(top);
  const { ordered, total } = countByAddress((add) => {
    for (const ring of queryRings) {
      for (let k = 0; k < ring.count; k++) {
        const i = ring.slot(k);
        const client = ring.client[i];
        if (client) add(client, ring.size[i]!);
      }
    }
    for (const ring of responseRings) {
      for (let k = 0; k < ring.count; k++) {
        const i = ring.slot(k);
        const client = ring.client[i];
        if (client) add(client, ring.size[i]!);
      }
    }
  });
  const shown = Math.min(top, ordered.length);
  stdPartialSort(ordered, shown, byCountDescending);
  return withRest(ordered, shown, total);
}

/** dnsdist's topBandwidth(top = 10) as printed text. */
export function topBandwidth(queryRings: readonly QueryRing[], responseRings: readonly ResponseRing[], top = 10): string {
  return formatTopRows(getTopBandwidth(queryRings, responseRings, top));
}

/** Number of different client addresses (ports ignored) in the query ring. */
export function numDistinctRequestors(rings: readonly QueryRing[]): number {
  const keyer = new ClientKeyer(EXACT_CLIENT_MASKS);
  const seen = new Set<ClientKey>();
  for (const ring of rings) {
    for (let k = 0; k < ring.count; k++) {
      const client = ring.client[ring.slot(k)];
      if (client) seen.add(keyer.key(client));
    }
  }
  return seen.size;
}
