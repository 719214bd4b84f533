/**
 * BPFFilter at scale: insert 100,000 address blocks one by one (each a
 * lookup and an update, as the Lua `bpf:block` does), then list them with
 * entries() and getStats(); next to the batch-update limit measured the
 * same way as test/bench/bpf (one syscall per 10,000 entries).
 * Run with `make bench-bpf-filter` (root).
 */
import { rmSync } from 'node:fs';
import { BpfMap, MapType } from '@dnsdist-ts/bpf';
import { BPFFilter, ipv4Key, encodeCounterAction, MatchAction } from '@dnsdist-ts/bpf-filter';

const N = Number(process.env.BENCH_N ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const dir = `/sys/fs/bpf/dts-bench-${process.pid}`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const addr = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

function round(): Record<string, number> {
  const f = BPFFilter.fromArgs([{ maxItems: N, pinnedPath: `${dir}/addr-v4` }, { maxItems: 16 }, { maxItems: 16 }, true]);
  const out: Record<string, number> = {};
  try {
    const addrs = Array.from({ length: N }, (_, i) => addr(i));
    let t0 = process.hrtime.bigint();
    for (const a of addrs) f.block(a);
    out.block = Number(process.hrtime.bigint() - t0) / N;
    t0 = process.hrtime.bigint();
    const entries = f.entries();
    out.entries = Number(process.hrtime.bigint() - t0) / N;
    if (entries.length !== N) throw new Error(`entries() listed ${entries.length} of ${N}`);
    t0 = process.hrtime.bigint();
    const stats = f.getStats();
    out.getStats = Number(process.hrtime.bigint() - t0) / N;
    if (stats.length === 0) throw new Error('empty stats');
  } finally {
    f.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // The limit: the same keys and values in one batch syscall per 10,000.
  const m = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 16, maxEntries: N });
  const keys = Buffer.alloc(4 * N);
  const values = Buffer.alloc(16 * N);
  for (let i = 0; i < N; i++) {
    ipv4Key(Uint8Array.of(10, (i >> 16) & 255, (i >> 8) & 255, i & 255), keys.subarray(i * 4, i * 4 + 4));
    encodeCounterAction(MatchAction.Drop, 0n, values.subarray(i * 16, i * 16 + 16));
  }
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < N; off += 10_000) {
    const n = Math.min(10_000, N - off);
    m.updateBatchRaw(keys.subarray(off * 4, (off + n) * 4), values.subarray(off * 16, (off + n) * 16), n);
  }
  out.batchLimit = Number(process.hrtime.bigint() - t0) / N;
  m.close();
  return out;
}

const rounds = Array.from({ length: ROUNDS }, round);
const med = (k: string) => median(rounds.map((r) => r[k]!));
console.log(`BPFFilter, ${N} IPv4 blocks (external format), median of ${ROUNDS} rounds`);
console.log('| operation | ns/entry | vs batch-update limit |');
console.log('|---|---:|---:|');
for (const k of ['block', 'entries', 'getStats', 'batchLimit']) {
  console.log(`| ${k} | ${med(k).toFixed(0)} | ${(med(k) / med('batchLimit')).toFixed(2)}x |`);
}
