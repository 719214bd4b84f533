/**
 * Veth flood in native XDP mode: packets per second an XDP program handles
 * versus what one generator sends, for the xdp-filter, a port of dnsdist
 * 1.7.3's program (dnsdist-port.bpf.c) and a bare XDP_DROP (the ceiling),
 * on the same maps and frames. Two network namespaces of their own, joined
 * by a veth pair: the generator (flood-gen.c, AF_PACKET + sendmmsg, built
 * here with cc) sends from one, the program runs on the other's end. All
 * traffic stays inside them; both are removed afterwards, also on failure.
 *
 * Run as root: `pnpm exec tsx test/bench/xdp/flood.bench.ts`
 * (FLOOD_SECONDS per measurement, default 3; FLOOD_ROUNDS, default 3).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfMap, BpfObject, XdpAction, type BpfProgram } from '@dnsdist-ts/bpf';
import { BPFFilter, pinnedExternalOptions } from '@dnsdist-ts/bpf-filter';
import { DNSName } from '@dnsdist-ts/dns';
import { XdpFilter } from '@dnsdist-ts/xdp-filter';
import { dnsQuery, frame, type FrameSpec } from '../../../contrib/xdp-filter/test/frames.js';
import { uniqueName } from '../../support/require-bpf.js';

const SECONDS = Number(process.env.FLOOD_SECONDS ?? 3);
const ROUNDS = Number(process.env.FLOOD_ROUNDS ?? 3);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A name whose wire form is exactly `bytes` long (labels of up to 63). */
function nameOfWireLength(bytes: number): string {
  let left = bytes - 9;
  const labels: string[] = [];
  while (left > 0) {
    const n = Math.max(1, Math.min(63, left - 1));
    labels.push('a'.repeat(n));
    left -= n + 1;
  }
  return [...labels, 'example'].join('.');
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
}

/**
 * A command in a namespace's network stack only: `ip netns exec` would also
 * remount /sys, hiding the bpffs that holds the pinned program.
 */
const inNs = (ns: string, cmd: string, args: string[]): [string, string[]] => ['nsenter', [`--net=/run/netns/${ns}`, cmd, ...args]];

/** XDP_DROP verdicts counted by the veth driver itself: the same counter for every program. */
function xdpDrops(ns: string, dev: string): number {
  const out = run(...inNs(ns, 'ethtool', ['-S', dev]));
  return [...out.matchAll(/rx_queue_\d+_xdp_drops: (\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
}

const tag = uniqueName('dtsfl');
const genNs = `${tag}g`;
const dutNs = `${tag}d`;
const genIf = `${tag}a`.slice(0, 15);
const dutIf = `${tag}b`.slice(0, 15);
const dir = `/sys/fs/bpf/${tag}`;
const work = mkdtempSync(join(tmpdir(), 'dts-xdp-flood-'));
const opened: Array<{ close(): void }> = [];

/** Everything this run created goes, once, whether it ends, fails or is interrupted. */
let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  for (const o of opened.reverse()) o.close();
  spawnSync('ip', ['netns', 'del', genNs]);
  spawnSync('ip', ['netns', 'del', dutNs]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}
/** Between measurements: lets a pending signal's handler run (everything else here is synchronous). */
const tick = () => new Promise((resolve) => setImmediate(resolve));

try {
  run('ip', ['netns', 'add', genNs]);
  run('ip', ['netns', 'add', dutNs]);
  run('ip', ['-n', genNs, 'link', 'add', genIf, 'type', 'veth', 'peer', 'name', dutIf, 'netns', dutNs]);
  run('ip', ['-n', genNs, 'link', 'set', genIf, 'up']);
  run('ip', ['-n', dutNs, 'link', 'set', dutIf, 'up']);
  const dutMac = JSON.parse(run('ip', ['-n', dutNs, '-j', 'link', 'show', dutIf]))[0].address as string;

  const gen = join(work, 'flood-gen');
  run('cc', ['-O2', '-Wall', '-o', gen, here('./flood-gen.c')]);

  const name15 = nameOfWireLength(15);
  const name100 = nameOfWireLength(100);
  const filter = new BPFFilter(pinnedExternalOptions(dir, 1024));
  opened.push(filter);
  filter.block('198.51.100.66');
  filter.blockQName(name15, 1);
  filter.blockQName(name100, 1);

  const ours = XdpFilter.load({ pinDir: dir });
  opened.push(ours);
  // dnsdist's program on the same three maps (its layout is the external one).
  const port = BpfObject.open(here('./dnsdist-port.bpf.o'));
  opened.push(port);
  for (const [name, pin] of [
    ['v4filter', 'addr-v4'],
    ['v6filter', 'addr-v6'],
    ['qnamefilter', 'qnames'],
  ] as const) {
    const m = BpfMap.openPinned(join(dir, pin));
    port.reuseMap(name, m);
    m.close();
  }
  port.load();
  const ref = BpfObject.open(here('./reference.bpf.o')).load();
  opened.push(ref);

  const programs: Array<[string, BpfProgram]> = [
    ['xdp-filter', ours.program],
    ['dnsdist 1.7.3 (port)', port.program('xdp_dnsdist_port')],
    ['bare XDP_DROP', ref.program('xdp_bare_drop')],
  ];
  const cases: Array<[string, FrameSpec]> = [
    ['source drop', { src: '198.51.100.66' }],
    [`qname drop (${DNSName.fromString(name15).wirelength()} B name)`, { payload: dnsQuery(name15, 1) }],
    [`qname drop (${DNSName.fromString(name100).wirelength()} B name)`, { payload: dnsQuery(name100, 1) }],
  ];

  /** One measurement: attach, flood, detach. Returns [sent, dropped by XDP] per second. */
  const measure = (prog: BpfProgram, pin: string, frameFile: string): [number, number] => {
    prog.pin(pin);
    try {
      run(...inNs(dutNs, 'ip', ['link', 'set', 'dev', dutIf, 'xdpdrv', 'pinned', pin]));
      try {
        const before = xdpDrops(dutNs, dutIf);
        // On one CPU: the veth runs the receiving side's XDP in the sender's softirq.
        const g = spawnSync(...inNs(genNs, 'taskset', ['-c', '0', gen, genIf, frameFile, String(SECONDS)]), {
          encoding: 'utf8',
          timeout: (SECONDS + 10) * 1000,
        });
        const m = /sent (\d+) ns (\d+)/.exec(g.stdout ?? '');
        if (g.status !== 0 || !m)
          throw new Error(`generator failed (${g.signal ?? `exit ${g.status}`}): ${g.stderr || g.error?.message || 'no output'}`);
        const secs = Number(m[2]) / 1e9;
        return [Number(m[1]) / secs, (xdpDrops(dutNs, dutIf) - before) / secs];
      } finally {
        run(...inNs(dutNs, 'ip', ['link', 'set', 'dev', dutIf, 'xdpdrv', 'off']));
      }
    } finally {
      rmSync(pin);
    }
  };

  const rows: string[] = [];
  for (const [caseName, spec] of cases) {
    const f = frame(spec);
    Buffer.from(dutMac.split(':').map((h) => parseInt(h, 16))).copy(f, 0);
    const frameFile = join(work, 'frame');
    writeFileSync(frameFile, f);
    for (const [progName, prog] of programs) {
      // The frame must get the verdict being measured.
      if (prog.testRun(f).retval !== XdpAction.Drop) throw new Error(`${progName} does not drop the '${caseName}' frame`);
    }
    // Programs take turns round by round, so that load from elsewhere on this machine hits them alike.
    const sent = programs.map(() => [] as number[]);
    const dropped = programs.map(() => [] as number[]);
    const ofBare = programs.map(() => [] as number[]);
    for (let r = 0; r < ROUNDS; r++) {
      const round: Array<[number, number]> = [];
      for (const [name, prog] of programs) {
        round.push(measure(prog, join(dir, `prog-${name.replace(/[^a-z]/g, '')}`), frameFile));
        await tick();
      }
      round.forEach(([s, d], i) => {
        sent[i]!.push(s);
        dropped[i]!.push(d);
        ofBare[i]!.push(d / round[programs.length - 1]![1]);
      });
    }
    const mpps = (x: number) => (x / 1e6).toFixed(2);
    programs.forEach(([progName], i) => {
      rows.push(
        `| ${caseName} | ${progName} | ${mpps(median(sent[i]!))} | ${mpps(median(dropped[i]!))} | ${((100 * median(dropped[i]!)) / median(sent[i]!)).toFixed(0)} % | ${(100 * median(ofBare[i]!)).toFixed(0)} % |`,
      );
    });
  }
  console.log(
    `veth flood, native XDP, ${SECONDS} s per run, ${ROUNDS} rounds with the programs taking turns (medians); generator pinned to CPU 0 of ${run('nproc', []).trim()}`,
  );
  console.log('| frames | program | sent, Mpps | dropped by XDP, Mpps | dropped / sent | vs bare drop (same round) |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
} finally {
  cleanup();
}
