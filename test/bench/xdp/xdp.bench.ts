/**
 * ns per packet of the xdp-filter by BPF_PROG_TEST_RUN, next to two
 * reference programs (test/bench/xdp/reference.bpf.c): a bare XDP_DROP and
 * a minimal parse-and-one-lookup filter. Run with `make bench-xdp` (root).
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpfObject, type BpfProgram } from '@dnsdist-ts/bpf';
import { BPFFilter, MatchAction, pinnedExternalOptions } from '@dnsdist-ts/bpf-filter';
import { DNSName } from '@dnsdist-ts/dns';
import { XdpFilter, SuffixMap } from '@dnsdist-ts/xdp-filter';
import { dnsQuery, frame, type FrameSpec } from '../../../contrib/xdp-filter/test/frames.js';

const REPEAT = Number(process.env.BENCH_REPEAT ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
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

/** For programs that rewrite the packet (TC): one run per call, kernel-timed. */
function perPacketSingle(prog: BpfProgram, f: Buffer): number {
  const d: number[] = [];
  for (let i = 0; i < SINGLE_RUNS; i++) d.push(prog.testRun(f, 1).durationNs);
  return median(d);
}

const name15 = nameOfWireLength(15);
const name30 = nameOfWireLength(30);
const name100 = nameOfWireLength(100);

const filter = new BPFFilter(pinnedExternalOptions(dir, 1024));
const xdp = XdpFilter.load({ pinDir: dir });
const ref = BpfObject.open(fileURLToPath(new URL('./reference.bpf.o', import.meta.url))).load();
try {
  filter.block('198.51.100.66');
  filter.block('2001:db8::66');
  filter.block('198.51.100.77', MatchAction.Truncate);
  filter.blockQName(name15, 1);
  filter.blockQName(name100, 1);
  const suffixes = new SuffixMap(xdp.map('suffixfilter'));
  suffixes.block('evil-suffix.example', MatchAction.Drop);
  const refMap = ref.map('ref_qnames');
  for (const n of [name15, name100]) {
    const k = Buffer.alloc(258);
    DNSName.fromString(n).toWire().copy(k);
    refMap.update(k, Buffer.alloc(8));
  }

  const f = (spec: FrameSpec) => frame(spec);
  const q = (n: string) => dnsQuery(n, 1);
  const bare = ref.program('xdp_bare_drop');
  const min = ref.program('xdp_min_parse');
  const rows: Array<[string, number, number | undefined]> = [];
  const add = (label: string, spec: FrameSpec, reference?: BpfProgram) =>
    rows.push([label, perPacket(xdp.program, f(spec)), reference ? perPacket(reference, f(spec)) : undefined]);

  add('non-DNS pass (UDP to port 80)', { dport: 80 }, min);
  add(`DNS pass (${DNSName.fromString(name30).wirelength()} B name)`, { payload: q(name30) }, min);
  add('v4 address drop', { src: '198.51.100.66' }, bare);
  add('v6 address drop', { family: 6, src: '2001:db8::66' }, bare);
  add(`qname drop (${DNSName.fromString(name15).wirelength()} B name)`, { payload: q(name15) }, min);
  add(`qname drop (${DNSName.fromString(name100).wirelength()} B name)`, { payload: q(name100) }, min);
  add('suffix drop (x.y.evil-suffix.example)', { payload: q('x.y.evil-suffix.example') });
  const tcFrame = f({ src: '198.51.100.77' });
  rows.push(['TC reply (single runs)', perPacketSingle(xdp.program, tcFrame), perPacketSingle(min, f({ payload: q(name15) }))]);
  rows.push(['bare XDP_DROP (reference)', perPacket(bare, f({})), undefined]);

  console.log(`xdp-filter, ns/packet by BPF_PROG_TEST_RUN, repeat ${REPEAT}, median of ${ROUNDS}`);
  console.log('| case | xdp-filter ns | reference ns | ratio |');
  console.log('|---|---:|---:|---:|');
  for (const [label, ns, r] of rows) {
    console.log(
      `| ${label} | ${ns.toFixed(0)} | ${r === undefined ? '' : r.toFixed(0)} | ${r === undefined ? '' : `${(ns / r).toFixed(2)}x`} |`,
    );
  }
  console.log(
    'reference: "min" = minimal parse + one lookup for DNS rows, bare drop for address rows; TC row vs a min-parse qname drop, both single-run',
  );
  refMap.close();
  suffixes.close();
} finally {
  ref.close();
  xdp.close();
  filter.close();
  rmSync(dir, { recursive: true, force: true });
}
