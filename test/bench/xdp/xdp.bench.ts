/**
 * ns per packet of the xdp-filter by BPF_PROG_TEST_RUN, next to reference
 * programs (test/bench/xdp/reference.bpf.c): a bare XDP_DROP, a minimal
 * parse-and-one-lookup name filter and a minimal parse-and-one-lookup
 * address filter. Run with `make bench-xdp` (root).
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpfObject, type BpfProgram } from '@dnsdist-ts/bpf';
import { BPFFilter, MatchAction, pinnedExternalOptions } from '@dnsdist-ts/bpf-filter';
import { DNSName, parseAddress } from '@dnsdist-ts/dns';
import { XdpFilter, syncNameIndex } from '@dnsdist-ts/xdp-filter';
import { dnsQuery, frame, type FrameSpec } from '../../../contrib/xdp-filter/test/frames.js';

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

const filter = new BPFFilter(pinnedExternalOptions(dir, 1024));
const xdp = XdpFilter.load({ pinDir: dir });
const ref = BpfObject.open(fileURLToPath(new URL('./reference.bpf.o', import.meta.url))).load();
try {
  filter.block('198.51.100.66');
  filter.block('2001:db8::66');
  filter.block('198.51.100.77', MatchAction.Truncate);
  filter.blockQName(name15, 1);
  filter.blockQName(name100, 1);
  const suffixes = xdp.suffixes();
  suffixes.block('evil-suffix.example', MatchAction.Drop);
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

  add('non-DNS pass (UDP to port 80)', { dport: 80 }, minName);
  add(`DNS pass (${wireLength(name30)} B name)`, { payload: q(name30) }, minName);
  add(`DNS pass (${wireLength(name100)} B name)`, { payload: q(nameOfWireLength(100, 'test')) }, minName);
  add(`DNS pass (${wireLength(manyLabels)} B name, 127 labels)`, { payload: q(manyLabels) }, minName);
  add('v4 address drop', { src: '198.51.100.66' }, minAddr);
  add('v6 address drop', { family: 6, src: '2001:db8::66' }, minAddr);
  add(`qname drop (${wireLength(name15)} B name)`, { payload: q(name15) }, minName);
  add(`qname drop (${wireLength(name100)} B name)`, { payload: q(name100) }, minName);
  add(`suffix drop (${suffixQuery})`, { payload: q(suffixQuery) }, minName);
  const tc = perPacketSingle(xdp.program, frame({ src: '198.51.100.77' }));
  const tcRef = perPacketSingle(minName, frame({ payload: q(name15) }));
  rows.push(['TC reply (single runs)', tc, 'min name, single runs', tcRef, tc / tcRef]);
  rows.push(['bare XDP_DROP (the floor)', perPacket(bare, frame({})), '', undefined, undefined]);
  // The fallback when the maps belong to dnsdist (its writes bypass the index): every name is looked up.
  syncNameIndex(dir, 'off');
  add(`DNS pass (${wireLength(name30)} B name), name index off`, { payload: q(name30) }, minName);
  add(`qname drop (${wireLength(name15)} B name), name index off`, { payload: q(name15) }, minName);
  add(`qname drop (${wireLength(name100)} B name), name index off`, { payload: q(name100) }, minName);
  add(`suffix drop (${suffixQuery}), name index off`, { payload: q(suffixQuery) }, minName);

  console.log(
    `xdp-filter, ns/packet by BPF_PROG_TEST_RUN, repeat ${REPEAT}, ${ROUNDS} alternating rounds (medians; ratio = median of per-round ratios)`,
  );
  console.log('| case | xdp-filter ns | reference | reference ns | ratio |');
  console.log('|---|---:|---|---:|---:|');
  for (const [label, ns, refName, r, ratio] of rows) {
    console.log(
      `| ${label} | ${ns.toFixed(0)} | ${refName} | ${r === undefined ? '' : r.toFixed(0)} | ${ratio === undefined ? '' : `${ratio.toFixed(2)}x`} |`,
    );
  }
  console.log(
    'references: "min name" = Ethernet + IPv4 + UDP + name copy + one 258-byte lookup; "min address" = Ethernet + IPv4/IPv6 + UDP port + one source lookup',
  );
  refNames.close();
  refV4.close();
  refV6.close();
  suffixes.close();
} finally {
  ref.close();
  xdp.close();
  filter.close();
  rmSync(dir, { recursive: true, force: true });
}
