/**
 * Time to block: from the query of a flood that crosses a setQueryRate
 * threshold to the first query the kernel (XDP) drops, and to the first
 * query the userspace block answers (REFUSED), with dnsdist's
 * once-a-second maintenance() and with setDynBlocksFastDetection(true).
 *
 * A client in a network namespace floods the proxy through a veth pair
 * (XDP filter attached in native mode) at 2,000 qps for 1.5 s; the rule
 * allows 200 queries a second, so query #201 crosses it (100 ms in).
 * Run as root: `pnpm exec tsx test/bench/flood/time-to-block.bench.ts`
 * (BENCH_RUNS=7 by default). BENCH_WORKERS=2 runs dnsdist-ts with two
 * data-plane workers (the flood comes from one source port: it reaches
 * one worker; dnsdist 1.7.3 is left out). Needs `make` (the workers run dist/).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XdpFilter } from '@dnsdist-ts/xdp-filter';
import { fileURLToPath } from 'node:url';
import { startProxy, type RunningProxy } from '../../../packages/proxy/test/support/proxy-harness.js';
import { outcomes, runFlood, timeToBlock, type TimeToBlock } from '../../../packages/proxy/test/ebpf/dns-flood.js';
import { pinnedFilterLua } from '../../../packages/proxy/test/ebpf/ebpf-fixtures.js';
import { createVethPair } from '../../support/netns.js';
import { uniqueName } from '../../support/require-bpf.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const RATE = 2000;
const THRESHOLD = 200;
const passObject = fileURLToPath(new URL('../../../contrib/xdp-filter/test/fixtures/xdp-pass.bpf.o', import.meta.url));

const veth = createVethPair(1);
const root = `/sys/fs/bpf/${uniqueName('dtsbt')}`;
execFileSync('ip', ['-n', veth.ns, 'link', 'set', 'dev', veth.peerIf, 'xdpdrv', 'obj', passObject, 'sec', 'xdp']);

async function once(fast: boolean, action: 'Drop' | 'Refused', run: number): Promise<TimeToBlock | undefined> {
  const proxy: RunningProxy = await startProxy(
    `
    setLocal("${veth.hostAddr}:\${PORT}")
    setACL({"${veth.hostAddr}/24"})
    addAction(AllRule(), SpoofAction("192.0.2.99"))
    bpf = ${pinnedFilterLua(`${root}/${run}${fast}${action}`)}
    setDefaultBPFFilter(bpf)
    attachXDPFilter{interfaces={"${veth.hostIf}"}, mode="native"}
    dbr = dynBlockRulesGroup()
    dbr:setQueryRate(${THRESHOLD}, 1, "flood", 30, DNSAction.${action})
    ${fast ? 'setDynBlocksFastDetection(true)' : ''}
    function maintenance() dbr:apply(); applied = true end
  `,
    {},
    WORKERS > 1 ? { workers: WORKERS } : {},
  );
  try {
    // A deployment has run maintenance() long before a flood comes: start after its first pass, at a random point of its second.
    while (proxy.app.runtime.runString('return applied')[0] !== true) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, Math.random() * 1000));
    const r = await runFlood({ server: veth.hostAddr, port: proxy.port, source: veth.peerAddrs[1]!, rate: RATE, seconds: 1.5 }, veth);
    if (action === 'Refused') return timeToBlock(r, THRESHOLD, 'R');
    // Queries read by the proxy and not answered were dropped in userspace (queued before the block): the kernel's first drop follows them.
    // With workers, their counts reach the control plane every 100 ms.
    if (WORKERS > 1) await new Promise((r) => setTimeout(r, 300));
    const userspaceDrops = proxy.app.proxy.frontends[0]!.udp.queries - (outcomes(r).A ?? 0);
    return timeToBlock(r, THRESHOLD, '-', userspaceDrops);
  } finally {
    await proxy.stop();
  }
}

/** The same with Debian's dnsdist 1.7.3 (maintenance() only), its external maps enforced by our XDP program. */
async function onceDnsdist(action: 'Drop' | 'Refused', run: number): Promise<TimeToBlock | undefined> {
  const pins = `${root}/dnsdist${run}${action}`;
  mkdirSync(pins, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'dts-ttb-'));
  const conf = join(dir, 'dnsdist.conf');
  const port = 5300 + run;
  const p = (pin: string) => `{maxItems=1024, pinnedPath="${pins}/${pin}"}`;
  writeFileSync(
    conf,
    `setSecurityPollSuffix("")
    setLocal("${veth.hostAddr}:${port}")
    setACL({"${veth.hostAddr}/24"})
    addAction(AllRule(), SpoofAction("192.0.2.99"))
    bpf = newBPFFilter(${p('addr-v4')}, ${p('addr-v6')}, ${p('qnames')}, true)
    setDefaultBPFFilter(bpf)
    dbr = dynBlockRulesGroup()
    dbr:setQueryRate(${THRESHOLD}, 1, "flood", 30, DNSAction.${action})
    function maintenance() dbr:apply() end`,
  );
  const child = spawn('dnsdist', ['--supervised', '--disable-syslog', '-C', conf], { stdio: 'ignore' });
  let xdp: XdpFilter | undefined;
  let detach: (() => void) | undefined;
  try {
    for (let i = 0; i < 100; i++) {
      const probe = await runFlood({ server: veth.hostAddr, port, source: veth.peerAddrs[0]!, rate: 10, seconds: 0.1, grace: 0.2 }, veth);
      if (probe.r.includes('A')) break;
    }
    xdp = XdpFilter.load({ pinDir: pins, ports: [port] });
    const att = xdp.attach(veth.hostIf, 'native');
    detach = () => att.detach();
    await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1000));
    const r = await runFlood({ server: veth.hostAddr, port, source: veth.peerAddrs[1]!, rate: RATE, seconds: 1.5 }, veth);
    // dnsdist's counters are not at hand: its userspace drops (a few queued queries) count as kernel ones here.
    return timeToBlock(r, THRESHOLD, action === 'Refused' ? 'R' : '-');
  } finally {
    detach?.();
    xdp?.close();
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  console.log(
    `time to block, ${RATE} qps flood, threshold ${THRESHOLD}/s (crossed ${((THRESHOLD / RATE) * 1000).toFixed(0)} ms in), ${RUNS} runs${WORKERS > 1 ? `, ${WORKERS} data-plane workers` : ''}`,
  );
  console.log('detection      blocked by                  after crossing: median   max   | after first query: median');
  for (const mode of WORKERS > 1 ? (['maintenance()', 'fast'] as const) : (['dnsdist 1.7.3', 'maintenance()', 'fast'] as const)) {
    for (const action of ['Drop', 'Refused'] as const) {
      const xs: TimeToBlock[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t = mode === 'dnsdist 1.7.3' ? await onceDnsdist(action, i) : await once(mode === 'fast', action, i);
        if (t) xs.push(t);
      }
      const after = xs.map((x) => x.afterCrossingMs);
      const label = action === 'Drop' ? 'XDP drop (first kernel drop)' : 'userspace REFUSED answer';
      console.log(
        `${mode.padEnd(14)} ${label.padEnd(28)} ${median(after).toFixed(0).padStart(20)} ms ${Math.max(...after)
          .toFixed(0)
          .padStart(5)} ms | ${median(xs.map((x) => x.afterFirstQueryMs))
          .toFixed(0)
          .padStart(8)} ms${xs.length < RUNS ? `  (${RUNS - xs.length} runs never blocked)` : ''}`,
      );
    }
  }
} finally {
  veth.dispose();
  rmSync(root, { recursive: true, force: true });
}
