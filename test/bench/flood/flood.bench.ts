/**
 * The flood benchmark: a legitimate client next to an attacker flooding
 * from four other addresses, through a veth pair, against dnsdist 1.7.3
 * and dnsdist-ts, each (a) with no attack, (b) under attack with
 * userspace dynamic blocks only, (c) under attack with the attacker's
 * blocks in the kernel and the XDP filter attached in native mode
 * (dnsdist 1.7.3: its external maps, enforced by our XDP program).
 *
 * The attacker is trafgen (PF_PACKET, as fast as it goes); the legitimate
 * client is dnsperf, once at a fixed 2,000 qps (loss, p50/p99 latency)
 * and once saturating (answers per second). The rule blocks any address
 * above 1,000 qps except the legitimate client's (excludeRange);
 * measurements start once the attacker is blocked. Generator, proxy and
 * client share this machine's cores.
 *
 * Run as root: `pnpm exec tsx test/bench/flood/flood.bench.ts`
 * (BENCH_SECONDS=5 per measurement). BENCH_WORKERS=1,2 measures each
 * row with N listener threads in dnsdist (its local address added N
 * times with reusePort) against N data-plane workers in dnsdist-ts.
 * BENCH_UDP_BUFFERS=1048576 gives both setUDPSocketBufferSizes(n, n).
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XdpFilter } from '@dnsdist-ts/xdp-filter';
import { freePort, startProxy } from '../../../packages/proxy/test/support/proxy-harness.js';
import { runDnsdistClient } from '../../../packages/proxy/test/console/dnsdist-process.js';
import { pinnedFilterLua, pinnedFilterLua17 } from '../../../packages/proxy/test/ebpf/ebpf-fixtures.js';
import { createVethPair } from '../../support/netns.js';
import { uniqueName } from '../../support/require-bpf.js';
import { fixedRate, saturating, type FixedRateResult, type SaturatingResult } from './dnsperf-client.js';
import { startTrafgenFlood } from './trafgen-flood.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** Only the measurements whose "target, mode" matches (e.g. BENCH_ONLY='dnsdist-ts, XDP'). */
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const FIXED_QPS = 2000;
const UDP_BUFFERS = Number(process.env.BENCH_UDP_BUFFERS ?? 0);
/** The listeners' socket buffers, before they bind (both proxies take the same line). */
const BUFFERS_LUA = UDP_BUFFERS > 0 ? `setUDPSocketBufferSizes(${UDP_BUFFERS}, ${UDP_BUFFERS})\n` : '';
const WORKERS = (process.env.BENCH_WORKERS ?? '1').split(',').map((n) => {
  const count = Number(n);
  if (!Number.isInteger(count) || count < 1) throw new Error(`BENCH_WORKERS: "${n}" is not a worker count (e.g. BENCH_WORKERS=1,2)`);
  return count;
});
const KEY = 'MXNeLFWHUe4363BBKrY06cAsH8NWNb+Se2eXU5+Bb74=';
const passObject = fileURLToPath(new URL('../../../contrib/xdp-filter/test/fixtures/xdp-pass.bpf.o', import.meta.url));

type Mode = 'no attack' | 'userspace blocks' | 'XDP';
type Target = 'dnsdist 1.7.3' | 'dnsdist-ts';

const veth = createVethPair(4);
const legit = veth.peerAddrs[0]!;
const attackers = [veth.peerAddrs[1]!, veth.peerAddrs[4]!];
const root = `/sys/fs/bpf/${uniqueName('dtsfb')}`;
// A receiving veth runs NAPI (needed for the TC answers of XDP_TX) only with an XDP program on it.
execFileSync('ip', ['-n', veth.ns, 'link', 'set', 'dev', veth.peerIf, 'xdpdrv', 'obj', passObject, 'sec', 'xdp']);

const rules = `
  addAction(AllRule(), SpoofAction("192.0.2.99"))
  dbr = dynBlockRulesGroup()
  dbr:setQueryRate(1000, 1, "flood", 3600, DNSAction.Drop)
  dbr:excludeRange({"${legit}/32"})
  function maintenance() dbr:apply() end
`;

interface Running {
  port: number;
  /** Dynamic blocks in force (lines of showDynBlocks()). */
  blocks(): Promise<number>;
  stop(): Promise<void>;
}

/** dnsdist's N listener threads on one address: the first setLocal, N - 1 more addLocal, all reusePort. */
function dnsdistListeners(address: string, workers: number): string {
  if (workers === 1) return `setLocal("${address}")`;
  const lines = [`setLocal("${address}", {reusePort=true})`];
  for (let i = 1; i < workers; i++) lines.push(`addLocal("${address}", {reusePort=true})`);
  return lines.join('\n');
}

async function startTarget(target: Target, mode: Mode, pins: string, workers: number): Promise<Running> {
  const bpf = mode === 'XDP';
  if (target === 'dnsdist-ts') {
    const filter = bpf
      ? `bpf = ${pinnedFilterLua(pins, 1024)}\nsetDefaultBPFFilter(bpf)\nattachXDPFilter{interfaces={"${veth.hostIf}"}, mode="native"}`
      : '';
    const proxy = await startProxy(
      `${BUFFERS_LUA}setLocal("${veth.hostAddr}:\${PORT}")\nsetACL({"${veth.hostAddr}/24"})\n${filter}\n${rules}`,
      {},
      {
        udpImplementation: 'native',
        workers,
      },
    );
    return {
      port: proxy.port,
      blocks: async () =>
        proxy.app
          .runConsoleCommand('showDynBlocks()')
          .split('\n')
          .filter((l) => /^\d/.test(l)).length,
      stop: () => proxy.stop(),
    };
  }
  mkdirSync(pins, { recursive: true });
  const port = await freePort();
  const consolePort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'dts-flood-'));
  const conf = join(dir, 'dnsdist.conf');
  const consoleConf = `controlSocket("127.0.0.1:${consolePort}")\nsetKey("${KEY}")`;
  writeFileSync(
    conf,
    `setSecurityPollSuffix("")\n${BUFFERS_LUA}${dnsdistListeners(`${veth.hostAddr}:${port}`, workers)}\nsetACL({"${veth.hostAddr}/24"})\n${consoleConf}\n` +
      `${bpf ? `bpf = ${pinnedFilterLua17(pins, 1024)}\nsetDefaultBPFFilter(bpf)` : ''}\n${rules}`,
  );
  const child = spawn('dnsdist', ['--supervised', '--disable-syslog', '-C', conf], { stdio: 'ignore' });
  const xdp = bpf ? XdpFilter.load({ pinDir: pins, ports: [port] }) : undefined;
  const att = xdp?.attach(veth.hostIf, 'native');
  const blocks = async () =>
    (await runDnsdistClient(consoleConf, 'showDynBlocks()')).stdout.split('\n').filter((l) => /^\d/.test(l)).length;
  // Ready once it answers.
  for (let i = 0; i < 20; i++) {
    if ((await fixedRate(veth, veth.hostAddr, port, legit, 10, 1)).answered > 0) break;
  }
  return {
    port,
    blocks,
    stop: async () => {
      att?.detach();
      xdp?.close();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const progress = (line: string) => process.stderr.write(`${line}\n`);

interface Row {
  target: Target;
  workers: number;
  mode: Mode;
  floodPps?: number;
  fixed: FixedRateResult;
  sat: SaturatingResult;
}

async function measure(target: Target, mode: Mode, workers: number): Promise<Row> {
  const pins = `${root}/${target === 'dnsdist-ts' ? 'ts' : 'dd'}-${mode === 'XDP' ? 'xdp' : 'us'}-${workers}`;
  const t = await startTarget(target, mode, pins, workers);
  const name = `${target} ×${workers}, ${mode}`;
  progress(`${name}: started`);
  try {
    const flood = mode === 'no attack' ? undefined : startTrafgenFlood(veth, t.port, attackers[0]!, attackers[1]!);
    try {
      if (flood) {
        // Measure once the attacker's four addresses are blocked (bounded wait).
        const deadline = performance.now() + 15_000;
        let n = 0;
        while ((n = await t.blocks()) < 4 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 500));
        progress(`${name}: ${n} attacker addresses blocked`);
      }
      const fixed = await fixedRate(veth, veth.hostAddr, t.port, legit, FIXED_QPS, SECONDS);
      progress(`${name}: fixed rate ${JSON.stringify(fixed)}`);
      const sat = await saturating(veth, veth.hostAddr, t.port, legit, SECONDS);
      progress(`${name}: saturating ${JSON.stringify(sat)}`);
      const f = await flood?.stop();
      progress(`${name}: flood stopped ${JSON.stringify(f)}`);
      return { target, workers, mode, fixed, sat, ...(f ? { floodPps: f.pps } : {}) };
    } catch (err) {
      await flood?.stop();
      throw err;
    }
  } finally {
    await t.stop();
    progress(`${name}: stopped`);
  }
}

try {
  const rows: Row[] = [];
  for (const workers of WORKERS) {
    for (const mode of ['no attack', 'userspace blocks', 'XDP'] as const) {
      for (const target of ['dnsdist 1.7.3', 'dnsdist-ts'] as const) {
        if (!ONLY || ONLY.test(`${target}, ${mode}`)) rows.push(await measure(target, mode, workers));
      }
    }
  }
  console.log(
    `flood benchmark: ${SECONDS} s per measurement, fixed-rate client at ${FIXED_QPS} qps, attacker: trafgen from 4 addresses` +
      (UDP_BUFFERS > 0 ? `, setUDPSocketBufferSizes(${UDP_BUFFERS}, ${UDP_BUFFERS})` : ''),
  );
  console.log(
    '| target | N | mode | flood (kpps sent) | fixed 2k qps: lost | p50 ms | p99 ms | saturating: answers/s |\n|---|---:|---|---|---|---|---|---|',
  );
  for (const r of rows) {
    const pct = ((r.fixed.lost / r.fixed.sent) * 100).toFixed(1);
    console.log(
      `| ${r.target} | ${r.workers} | ${r.mode} | ${r.floodPps ? (r.floodPps / 1000).toFixed(0) : '-'} | ${r.fixed.lost} (${pct} %) | ${r.fixed.p50.toFixed(3)} | ${r.fixed.p99.toFixed(3)} | ${r.sat.qps.toFixed(0)} |`,
    );
  }
} finally {
  veth.dispose();
  rmSync(root, { recursive: true, force: true });
}
