/**
 * ns per packet of the xdp-filter by BPF_PROG_TEST_RUN, next to reference
 * programs (test/bench/xdp/reference.bpf.c): a bare XDP_DROP, a minimal
 * parse-and-one-lookup name filter and a minimal parse-and-one-lookup
 * address filter. Every entry is written by a foreign writer (straight
 * through the bpf syscall). Rows for the default name-index mode with an
 * index guard running, with none (every name looked up), and for
 * 'trusted'; then how soon a foreign entry is enforced with a guard
 * running, and what a guard scan costs. Run with `make bench-xdp` (root).
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpfMap, BpfObject, type BpfProgram } from '@dnsdist-ts/bpf';
import { BPFFilter, NameIndex, nowNs, pinnedExternalOptions } from '@dnsdist-ts/bpf-filter';
import { DNSName, parseAddress } from '@dnsdist-ts/dns';
import { XdpFilter, syncNameIndex, type IndexGuard } from '@dnsdist-ts/xdp-filter';
import { dnsQuery, frame, type FrameSpec } from '../../../contrib/xdp-filter/test/frames.js';
import { ACTION, encode, type RawEntry } from '../../../contrib/xdp-filter/test/raw-writer.js';

const REPEAT = Number(process.env.BENCH_REPEAT ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
/** Only the rows whose label matches (for quick comparisons while tuning). */
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const SINGLE_RUNS = Number(process.env.BENCH_SINGLE ?? 20_000);
const dir = `/sys/fs/bpf/dts-bench-xdp-${process.pid}`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A name whose wire form is exactly `bytes` long (labels of up to 63). */
function nameOfWireLength(bytes: number, tld = 'example'): string {
  let left = bytes - (tld.length + 2);
  const labels: string[] = [];
  while (left > 0) {
    const n = Math.min(63, left - 1);
    labels.push('a'.repeat(Math.max(n, 1)));
    left -= Math.max(n, 1) + 1;
  }
  return [...labels, tld].join('.');
}

function perPacket(prog: BpfProgram, f: Buffer): number {
  return median(Array.from({ length: ROUNDS }, () => prog.testRun(f, REPEAT).durationNs));
}

/**
 * Program and reference alternately, round by round, so that both see the
 * same machine (other load on this shared VM drifts over seconds): the
 * median of each and the median of the per-round ratios.
 */
function paired(prog: BpfProgram, reference: BpfProgram, f: Buffer): { ns: number; refNs: number; ratio: number } {
  const a: number[] = [];
  const b: number[] = [];
  const r: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    a.push(prog.testRun(f, REPEAT).durationNs);
    b.push(reference.testRun(f, REPEAT).durationNs);
    r.push(a[i]! / b[i]!);
  }
  return { ns: median(a), refNs: median(b), ratio: median(r) };
}

/** For programs that rewrite the packet (TC): one run per call, kernel-timed. */
function perPacketSingle(prog: BpfProgram, f: Buffer): number {
  const d: number[] = [];
  for (let i = 0; i < SINGLE_RUNS; i++) d.push(prog.testRun(f, 1).durationNs);
  return median(d);
}

const wireLength = (n: string) => DNSName.fromString(n).wirelength();
const name15 = nameOfWireLength(15);
const name30 = nameOfWireLength(30);
const name100 = nameOfWireLength(100);
const manyLabels = `${'a.'.repeat(126)}b`; // 127 one-byte labels, 255 B: the most suffixes a name can have
const suffixQuery = 'x.y.evil-suffix.example';

/** Until a guard scan that started after `since` has vouched for both parts of the index. */
async function vouchedSince(index: NameIndex, since: bigint): Promise<void> {
  while (!index.vouchedSince('qnames', since) || !index.vouchedSince('suffixes', since)) await new Promise((r) => setTimeout(r, 1));
}

/** Entries written straight through the bpf syscall, as dnsdist or bpftool would: nothing marks the name index. */
function writeForeign(pinDir: string, entries: RawEntry[]): void {
  for (const e of entries) {
    const m = BpfMap.openPinned(`${pinDir}/${e.map}`);
    try {
      const { key, value } = encode(e);
      m.update(key, value);
    } finally {
      m.close();
    }
  }
}

/**
 * How long a name a foreign writer blocks keeps passing with a guard
 * running: write, then run the program on the query until it drops it.
 */
async function enforcementLatency(prog: BpfProgram, pinDir: string, rounds: number): Promise<{ ms: number[]; passes: number[] }> {
  const ms: number[] = [];
  const passes: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const name = `late-${i}-${process.pid}.example`;
    const f = frame({ payload: dnsQuery(name, 1) });
    const t0 = performance.now();
    writeForeign(pinDir, [{ map: 'qnames', name, qtype: 1, action: ACTION.drop }]);
    let n = 0;
    while (prog.testRun(f).retval !== 1) {
      n++;
      if (n % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    ms.push(performance.now() - t0);
    passes.push(n);
    // Spread the writes over the guard's period.
    await new Promise((r) => setTimeout(r, 7 + (i % 5) * 3));
  }
  return { ms, passes };
}

/** The guard's own report for maps of `size` entries, full of names: how long one scan takes. */
async function scanCost(size: number): Promise<{ scanUs: number; periodMs: number; names: number; suffixes: number; inUse: number }> {
  const bigDir = `${dir}-scan-${size}`;
  const f = new BPFFilter(pinnedExternalOptions(bigDir, size));
  const x = XdpFilter.load({ pinDir: bigDir, maxEntries: size });
  const index = NameIndex.openIn(bigDir)!;
  try {
    const qn = BpfMap.openPinned(`${bigDir}/qnames`);
    const sx = BpfMap.openPinned(`${bigDir}/suffixes`);
    try {
      const q: Array<[Buffer, Buffer]> = [];
      const sf: Array<[Buffer, Buffer]> = [];
      for (let i = 0; i < size; i++) {
        const a = encode({ map: 'qnames', name: `host-${i}.some-zone-${i % 97}.example`, qtype: 1, action: ACTION.drop });
        const b = encode({ map: 'suffixes', name: `zone-${i}.example`, action: ACTION.drop });
        q.push([a.key, a.value]);
        sf.push([b.key, b.value]);
      }
      for (let i = 0; i < size; i += 4096) {
        qn.updateBatch(q.slice(i, i + 4096));
        sx.updateBatch(sf.slice(i, i + 4096));
      }
    } finally {
      qn.close();
      sx.close();
    }
    const g = x.guard({ maxEntries: Math.max(size, 65536) });
    try {
      const samples: number[] = [];
      for (let i = 0; i < 9; i++) {
        const since = nowNs();
        await vouchedSince(index, since);
        samples.push(index.state().guard.scanUs);
      }
      // The share of time the index is vouched for: sampled over a second.
      let used = 0;
      let seen = 0;
      for (const end = performance.now() + 1000; performance.now() < end; seen++) {
        if (index.state().qnames.inUse) used++;
        await new Promise((r) => setTimeout(r, 1));
      }
      const st = index.state().guard;
      return { scanUs: median(samples), periodMs: st.periodMs, names: st.qnameEntries, suffixes: st.suffixEntries, inUse: used / seen };
    } finally {
      g.stop();
    }
  } finally {
    index.close();
    x.close();
    f.close();
    rmSync(bigDir, { recursive: true, force: true });
  }
}

// Maps created by dnsdist-ts's BPFFilter and the loader; every entry below is written by a
// foreign writer (the bpf syscall, no name-index marking), as dnsdist or bpftool would.
const filter = new BPFFilter(pinnedExternalOptions(dir, 1024));
const xdp = XdpFilter.load({ pinDir: dir }); // the default name-index mode: guarded
const index = NameIndex.openIn(dir)!;
const ref = BpfObject.open(fileURLToPath(new URL('./reference.bpf.o', import.meta.url))).load();
let guard: IndexGuard | undefined;
try {
  writeForeign(dir, [
    { map: 'addr-v4', address: '198.51.100.66', action: ACTION.drop },
    { map: 'addr-v6', address: '2001:db8::66', action: ACTION.drop },
    { map: 'addr-v4', address: '198.51.100.77', action: ACTION.tc },
    { map: 'qnames', name: name15, qtype: 1, action: ACTION.drop },
    { map: 'qnames', name: name100, qtype: 1, action: ACTION.drop },
    { map: 'suffixes', name: 'evil-suffix.example', action: ACTION.drop },
  ]);
  const refNames = ref.map('ref_qnames');
  for (const n of [name15, name100, suffixQuery]) {
    const k = Buffer.alloc(258);
    DNSName.fromString(n).toWire().copy(k);
    refNames.update(k, Buffer.alloc(8));
  }
  const refV4 = ref.map('ref_v4');
  const refV6 = ref.map('ref_v6');
  const v4 = Buffer.alloc(4);
  v4.writeUInt32LE(Buffer.from(parseAddress('198.51.100.66').bytes).readUInt32BE(0));
  refV4.update(v4, Buffer.alloc(8));
  refV6.update(Buffer.from(parseAddress('2001:db8::66').bytes), Buffer.alloc(8));

  const q = (n: string) => dnsQuery(n, 1);
  const bare = ref.program('xdp_bare_drop');
  const minName = ref.program('xdp_min_parse');
  const minAddr = ref.program('xdp_min_addr');
  const refLabel = new Map([
    [minName, 'min name'],
    [minAddr, 'min address'],
    [bare, 'bare drop'],
  ]);
  const rows: Array<[string, number, string, number | undefined, number | undefined]> = [];
  const add = (label: string, spec: FrameSpec, reference: BpfProgram) => {
    if (ONLY && !ONLY.test(label)) return;
    const m = paired(xdp.program, reference, frame(spec));
    rows.push([label, m.ns, refLabel.get(reference)!, m.refNs, m.ratio]);
  };
  const section = (title: string) => rows.push([`**${title}**`, NaN, '', undefined, undefined]);
  const nameRows = (tag: string) => {
    add(`DNS pass (${wireLength(name30)} B name)${tag}`, { payload: q(name30) }, minName);
    add(`DNS pass (${wireLength(name100)} B name)${tag}`, { payload: q(nameOfWireLength(100, 'test')) }, minName);
    add(`DNS pass (${wireLength(manyLabels)} B name, 127 labels)${tag}`, { payload: q(manyLabels) }, minName);
    add(`qname drop (${wireLength(name15)} B name)${tag}`, { payload: q(name15) }, minName);
    add(`qname drop (${wireLength(name100)} B name)${tag}`, { payload: q(name100) }, minName);
    add(`suffix drop (${suffixQuery})${tag}`, { payload: q(suffixQuery) }, minName);
  };
  const allRows = (tag: string) => {
    add(`non-DNS pass (UDP to port 80)${tag}`, { dport: 80 }, minName);
    add(`v4 address drop${tag}`, { src: '198.51.100.66' }, minAddr);
    add(`v6 address drop${tag}`, { family: 6, src: '2001:db8::66' }, minAddr);
    nameRows(tag);
    if (!ONLY || ONLY.test(`TC reply${tag}`)) {
      const tc = perPacketSingle(xdp.program, frame({ src: '198.51.100.77' }));
      const tcRef = perPacketSingle(minName, frame({ payload: q(name15) }));
      rows.push([`TC reply (single runs)${tag}`, tc, 'min name, single runs', tcRef, tc / tcRef]);
    }
  };

  // 1. The default mode with a guard running (the proxy or `xdp-filter maintain`).
  const since = nowNs();
  guard = xdp.guard();
  await vouchedSince(index, since);
  section('default mode (guarded), index guard running, every entry written by a foreign writer');
  allRows('');
  const latency = await enforcementLatency(xdp.program, dir, Number(process.env.BENCH_LATENCY_ROUNDS ?? 40));
  // 2. The default mode with no guard: nothing derived is used, every name is looked up.
  guard.stop();
  guard = undefined;
  while (index.state().qnames.inUse || index.state().suffixes.inUse) await new Promise((r) => setTimeout(r, 5));
  section('default mode, no index guard running (no derived state: every name looked up)');
  nameRows(', no guard');
  // 3. The fastest mode: the index trusted as is (the operator's promise that every writer is dnsdist-ts).
  syncNameIndex(dir, 'trusted');
  section("'trusted' (the index used as is)");
  nameRows(', trusted');
  rows.push(['bare XDP_DROP (the floor)', perPacket(bare, frame({})), '', undefined, undefined]);

  const scans = (process.env.BENCH_SCAN_SIZES ?? '1024,16384,65536').split(',').map(Number);
  const scanRows: string[] = [];
  for (const size of scans) {
    const c = await scanCost(size);
    scanRows.push(
      `| ${size} + ${size} | ${c.names} + ${c.suffixes} | ${c.scanUs.toFixed(0)} | ${c.periodMs.toFixed(0)} | ${((c.scanUs / 1000 / c.periodMs) * 100).toFixed(1)} % | ${(c.inUse * 100).toFixed(0)} % |`,
    );
  }

  console.log(
    `xdp-filter, ns/packet by BPF_PROG_TEST_RUN, repeat ${REPEAT}, ${ROUNDS} alternating rounds (medians; ratio = median of per-round ratios)`,
  );
  console.log('| case | xdp-filter ns | reference | reference ns | ratio |');
  console.log('|---|---:|---|---:|---:|');
  for (const [label, ns, refName, r, ratio] of rows) {
    if (Number.isNaN(ns)) {
      console.log(`| ${label} | | | | |`);
      continue;
    }
    console.log(
      `| ${label} | ${ns.toFixed(0)} | ${refName} | ${r === undefined ? '' : r.toFixed(0)} | ${ratio === undefined ? '' : `${ratio.toFixed(2)}x`} |`,
    );
  }
  console.log(
    'references: "min name" = Ethernet + IPv4 + UDP + name copy + one 258-byte lookup; "min address" = Ethernet + IPv4/IPv6 + UDP port + one source lookup',
  );
  const sorted = [...latency.ms].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  console.log(
    `\nforeign entry with a guard running (period 20 ms, fresh 60 ms): enforced after median ${pct(50).toFixed(1)} ms, p90 ${pct(90).toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms over ${sorted.length} writes (program runs in between: median ${median(latency.passes)})`,
  );
  console.log('\nindex guard scans of full maps (names of 20-30 B): duration, period, share of one CPU, share of time the index is in use');
  console.log('| qnames + suffixes entries | walked | scan µs | period ms | CPU | index in use |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of scanRows) console.log(r);
  refNames.close();
  refV4.close();
  refV6.close();
} finally {
  guard?.stop();
  index.close();
  ref.close();
  xdp.close();
  filter.close();
  rmSync(dir, { recursive: true, force: true });
}
