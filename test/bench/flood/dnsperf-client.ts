/**
 * The legitimate client of the flood benchmark: dnsperf in the peer
 * namespace, either at a fixed rate (every answer's latency, for loss and
 * p99) or saturating (as many answers per second as it can get).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VethPair } from '../../support/netns.js';

export interface FixedRateResult {
  sent: number;
  answered: number;
  lost: number;
  /** Answer latency percentiles (ms). */
  p50: number;
  p99: number;
}

export interface SaturatingResult {
  sent: number;
  answered: number;
  /** Answers per second. */
  qps: number;
}

async function dnsperf(veth: VethPair, args: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'dts-dnsperf-'));
  try {
    const data = join(dir, 'queries.txt');
    writeFileSync(data, 'www.example.test A\n');
    return await veth.execInNs('dnsperf', ['-d', data, '-t', '1', ...args]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const stat = (out: string, label: string) => Number(new RegExp(`${label}:\\s+([\\d.]+)`).exec(out)?.[1] ?? NaN);

/** `rate` queries a second for `seconds` from `source`. */
export async function fixedRate(
  veth: VethPair,
  server: string,
  port: number,
  source: string,
  rate: number,
  seconds: number,
): Promise<FixedRateResult> {
  const out = await dnsperf(veth, [
    '-s',
    server,
    '-p',
    String(port),
    '-a',
    source,
    '-Q',
    String(rate),
    '-l',
    String(seconds),
    '-q',
    '1000',
    '-v',
  ]);
  const lat = [...out.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  const sent = stat(out, 'Queries sent');
  const answered = stat(out, 'Queries completed');
  return { sent, answered, lost: sent - answered, p50: pct(0.5), p99: pct(0.99) };
}

/** As many queries as answers come back (`outstanding` in flight) for `seconds` from `source`. */
export async function saturating(
  veth: VethPair,
  server: string,
  port: number,
  source: string,
  seconds: number,
  outstanding = 64,
): Promise<SaturatingResult> {
  const out = await dnsperf(veth, ['-s', server, '-p', String(port), '-a', source, '-q', String(outstanding), '-l', String(seconds)]);
  const answered = stat(out, 'Queries completed');
  return { sent: stat(out, 'Queries sent'), answered, qps: answered / stat(out, 'Run time \\(s\\)') };
}
