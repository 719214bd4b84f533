/**
 * Benchmark (not a test): formatting the per-entry kernel family (one
 * sample per entry, labels kind, key and action) with prom-client's
 * registry against the hand-written PrometheusTextWriter that /metrics
 * uses for it. CPU only, no maps: the walk of the maps is the same for
 * both. Run:
 *
 *     pnpm exec tsx packages/proxy/test/web/per-entry-format.bench.ts [entries]
 */
import { PrometheusTextWriter } from '@dnsdist-ts/web/metrics/prometheus-text-writer.js';
import { FamilyRegistry, ScrapedFamilies } from '@dnsdist-ts/web/metrics/registry-families.js';

const ENTRIES = Number(process.argv[2] ?? 100_000);
const RUNS = 7;
const NAME = 'dnsdist_ts_kernel_block_hits_total';
const keys = Array.from({ length: ENTRIES }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

async function viaRegistry(registry: FamilyRegistry): Promise<number> {
  const f = new ScrapedFamilies();
  f.family(NAME, 'counter', 'Packets matched by each kernel block entry');
  for (let i = 0; i < ENTRIES; i++) {
    f.sample(NAME, i, [
      ['kind', 'address'],
      ['key', keys[i]!],
      ['action', 'drop'],
    ]);
  }
  return Buffer.byteLength(await registry.render(f));
}

function viaWriter(): number {
  const w = new PrometheusTextWriter(ENTRIES * 90);
  w.family(NAME, 'counter', 'Packets matched by each kernel block entry');
  const s = w.series(NAME, ['kind', 'key', 'action']);
  for (let i = 0; i < ENTRIES; i++) s.add(i, 'address', keys[i]!, 'drop');
  return w.bytes().length;
}

const registry = new FamilyRegistry();
const reg: number[] = [];
const hand: number[] = [];
const sizes = [0, 0];
for (let r = 0; r < RUNS; r++) {
  let t = performance.now();
  sizes[0] = await viaRegistry(registry);
  reg.push(performance.now() - t);
  t = performance.now();
  sizes[1] = viaWriter();
  hand.push(performance.now() - t);
}
console.log(`${ENTRIES} samples, ${(sizes[0]! / 1e6).toFixed(1)} / ${(sizes[1]! / 1e6).toFixed(1)} MB`);
console.log(
  `prom-client registry:   median ${median(reg).toFixed(1)} ms, max ${Math.max(...reg).toFixed(1)} ms (${RUNS} runs, one synchronous block)`,
);
console.log(`PrometheusTextWriter:   median ${median(hand).toFixed(1)} ms, max ${Math.max(...hand).toFixed(1)} ms (${RUNS} runs)`);
console.log(
  `load average: ${(await import('node:os'))
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
