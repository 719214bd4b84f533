/**
 * Run fixtures/dns-flood-client.mjs (in a network namespace, or here) and
 * read what it saw: per-query send times, outcomes and latencies.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { VethPair } from '../../../../test/support/netns.js';

const CLIENT = fileURLToPath(new URL('./fixtures/dns-flood-client.mjs', import.meta.url));

export interface FloodOptions {
  server: string;
  port: number;
  source: string;
  /** Queries per second. */
  rate: number;
  seconds: number;
  name?: string;
  /** Seconds to wait for late answers after the last query. */
  grace?: number;
}

export interface FloodResult {
  sent: number;
  /** Send time of each query, ms after the first. */
  t: number[];
  /** One letter per query: A answered, R REFUSED, N NXDOMAIN, T TC=1, O other rcode, - no answer. */
  r: string;
  /** Answer latency of each query in ms, -1 without answer. */
  lat: number[];
}

/** Start a flood (from inside `veth`'s namespace when given); resolves when it is done. */
export async function runFlood(opts: FloodOptions, veth?: VethPair): Promise<FloodResult> {
  const arg = JSON.stringify(opts);
  const out = veth
    ? await veth.execInNs(process.execPath, [CLIENT, arg])
    : (await promisify(execFile)(process.execPath, [CLIENT, arg], { maxBuffer: 64 << 20 })).stdout;
  return JSON.parse(out) as FloodResult;
}

/** How many queries got each outcome. */
export function outcomes(r: FloodResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of r.r) out[c] = (out[c] ?? 0) + 1;
  return out;
}

/** When a flood was stopped, relative to the query that crossed the threshold. */
export interface TimeToBlock {
  /** Send time of the query that crossed the threshold (ms after the first query). */
  crossingMs: number;
  /** First query the block stopped: no answer (Drop), or the block's own answer (REFUSED, TC=1…). */
  blockedIndex: number;
  /** Its send time minus the crossing's (ms). */
  afterCrossingMs: number;
  /** Its send time (ms after the first query). */
  afterFirstQueryMs: number;
}

/**
 * Read a flood's outcome: `threshold` queries were allowed (rate × seconds
 * of the rule), so query #threshold (from 0) crossed it; the first query
 * the block stopped is the first with `blockedStatus`, moved on by
 * `skip` (e.g. queries the proxy still read and dropped in userspace, to
 * find the first one the kernel dropped). Undefined when never blocked.
 */
export function timeToBlock(r: FloodResult, threshold: number, blockedStatus: string, skip = 0): TimeToBlock | undefined {
  const first = r.r.indexOf(blockedStatus, threshold);
  if (first < 0 || threshold >= r.sent) return undefined;
  const blockedIndex = Math.min(first + skip, r.sent - 1);
  const crossingMs = r.t[threshold]!;
  return {
    crossingMs,
    blockedIndex,
    afterCrossingMs: r.t[blockedIndex]! - crossingMs,
    afterFirstQueryMs: r.t[blockedIndex]!,
  };
}
