/**
 * ns per map operation from JS through @dnsdist-ts/bpf, next to the same
 * operations in a C loop on libbpf (the limit), as ratios. Run with
 * `make bench-bpf` (root). Each figure is the median of ROUNDS runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfMap, MapType } from '@dnsdist-ts/bpf';

const N = Number(process.env.BENCH_N ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const here = dirname(fileURLToPath(import.meta.url));

type Figures = Record<string, number>;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function newMap(max: number): BpfMap {
  return BpfMap.create({ type: MapType.Hash, name: 'bench', keySize: 4, valueSize: 8, maxEntries: max });
}

function packed(n: number): { keys: Buffer; values: Buffer } {
  const keys = Buffer.alloc(4 * n);
  for (let i = 0; i < n; i++) keys.writeUInt32LE(i, i * 4);
  return { keys, values: Buffer.alloc(8 * n) };
}

function jsRound(): Figures {
  const out: Figures = {};
  const key = Buffer.alloc(4);
  const value = Buffer.alloc(8);
  let m = newMap(N);
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    key.writeUInt32LE(i);
    m.update(key, value);
  }
  out.singleUpdate = Number(process.hrtime.bigint() - t0) / N;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    key.writeUInt32LE(i);
    m.lookupInto(key, value);
  }
  out.singleLookup = Number(process.hrtime.bigint() - t0) / N;
  m.close();
  const { keys, values } = packed(N);
  for (const batch of [64, 1024, 10000]) {
    m = newMap(N);
    t0 = process.hrtime.bigint();
    for (let off = 0; off < N; off += batch) {
      const n = Math.min(batch, N - off);
      m.updateBatchRaw(keys.subarray(off * 4, (off + n) * 4), values.subarray(off * 8, (off + n) * 8), n);
    }
    out[`batchUpdate${batch}`] = Number(process.hrtime.bigint() - t0) / N;
    m.close();
  }
  m = newMap(N);
  m.updateBatchRaw(keys, values, N);
  t0 = process.hrtime.bigint();
  const d = m.dumpRaw();
  out.dump = Number(process.hrtime.bigint() - t0) / N;
  if (d.count !== N) throw new Error(`dump returned ${d.count} of ${N}`);
  m.close();
  return out;
}

function cRound(bin: string): Figures {
  return JSON.parse(execFileSync(bin, [String(N)]).toString()) as Figures;
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'dts-bench-'));
  const bin = join(dir, 'map-ops-limit');
  try {
    execFileSync('cc', ['-O2', '-o', bin, join(here, 'map-ops-limit.c'), '-lbpf']);
    const js: Figures[] = [];
    const c: Figures[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      js.push(jsRound());
      c.push(cRound(bin));
    }
    const names = Object.keys(js[0]!);
    console.log(`map ops, hash map u32 -> u64, ${N} entries, median of ${ROUNDS} rounds (JS and C alternating)`);
    console.log('| operation | JS ns/op | C ns/op | JS / C |');
    console.log('|---|---:|---:|---:|');
    for (const name of names) {
      const a = median(js.map((f) => f[name]!));
      const b = median(c.map((f) => f[name]!));
      console.log(`| ${name} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)}x |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
