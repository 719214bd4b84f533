/**
 * The rings as plain rows, for dnsdist's table-returning accessors
 * (getResponseRing, getRespRing) and for callers that want a copy.
 * Rows come shard by shard, each shard oldest first, as dnsdist walks them.
 */
import { rcodeOf } from './dns-header-names.js';
import type { ResponseRing } from './response-ring.js';

/** One row of dnsdist's getResponseRing(). */
export interface ResponseRingRow {
  readonly name: string;
  readonly qtype: number;
  readonly rcode: number;
  /** Latency in microseconds (4294967295 for a timeout). */
  readonly usec: number;
}

/** One row of dnsdist's getRespRing([rcode]); the rcode is a decimal string there. */
export interface RespRingRow {
  readonly qname: string;
  readonly rcode: string;
}

/** Every response-ring entry as {name, qtype, rcode, usec}. */
export function getResponseRing(rings: readonly ResponseRing[]): ResponseRingRow[] {
  const rows: ResponseRingRow[] = [];
  for (const ring of rings) {
    for (let k = 0; k < ring.count; k++) {
      const i = ring.slot(k);
      rows.push({ name: ring.qname[i]!, qtype: ring.qtype[i]!, rcode: rcodeOf(ring.flags[i]!), usec: ring.latency[i]! });
    }
  }
  return rows;
}

/**
 * Response-ring entries as {qname, rcode}, only those with `rcode` when
 * given. dnsdist numbers these rows from 1 again in each shard, so in Lua
 * later shards overwrite earlier ones; this returns every row once and
 * leaves numbering to the caller.
 */
export function getRespRing(rings: readonly ResponseRing[], rcode?: number): RespRingRow[] {
  const rows: RespRingRow[] = [];
  for (const ring of rings) {
    for (let k = 0; k < ring.count; k++) {
      const i = ring.slot(k);
      const code = rcodeOf(ring.flags[i]!);
      if (rcode !== undefined && code !== rcode) continue;
      rows.push({ qname: ring.qname[i]!, rcode: String(code) });
    }
  }
  return rows;
}
