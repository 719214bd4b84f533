/**
 * Benchmark (not a test): how long a `/metrics` scrape takes while the
 * proxy holds 100,000 dynamic blocks mirrored into the kernel maps (the
 * goal is under 200 ms, plain and gzip), and how late DNS answers come
 * while scrapes run (a probe in another process queries every 2 ms; the
 * goal is no answer delayed by more than 10 ms). Run as root on a bpffs
 * mount:
 *
 *     [SCRAPE_BENCH_CLIENT_CPU=1] pnpm exec tsx packages/proxy/test/web/metrics-scrape.bench.ts [blocks] [engine|kernel] [thread|loop] [workers]
 *
 * `engine` (the default) adds the blocks through the dynamic-block engine,
 * which mirrors them into the default filter's maps; the engine's
 * once-a-second housekeeping then also runs over them (and competes with
 * DNS and the scrape for the event loop). `kernel` writes the entries
 * straight into a BPF filter's pinned maps (filter.block), so what the
 * probe sees is the scrape's own effect. `thread` (the default) is what the
 * proxy does: the per-entry family is rendered on its renderer thread;
 * `loop` hides the providers' filters from the scrape, so the family is
 * walked and written on the event loop as before the renderer thread (the
 * comparison in docs/benchmarks.md).
 *
 * curl runs from a process of its own (curl-scraper.ts): forking it from
 * this process would hold the event loop under test for longer than the
 * scrape does. Besides the probe's delays, the bench reports the event
 * loop's holds as CPU time (event-loop-holds.ts), which a loaded machine
 * does not inflate: the wall-clock figures include waiting for a core.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { BPFFilter, MatchAction } from '@dnsdist-ts/bpf-filter';
import { DnsdistApp } from '../../src/app/dnsdist-app.js';
import { bpfFilterKernelCounters } from '@dnsdist-ts/web/metrics/bpf-filter-sources.js';
import { HIT_FOLD_SLICE_MS } from '@dnsdist-ts/dynblocks/dynblocks/kernel-mirror.js';
import { EventLoopSlicer } from '@dnsdist-ts/web/metrics/event-loop-slicer.js';
import { freePort } from '../support/proxy-harness.js';
import { CurlScraper } from './curl-scraper.js';
import { DnsLatencyProbe, type ProbeWindow } from './dns-latency-probe.js';
import { EventLoopHoldSampler, holdLine, type HoldWindow } from './event-loop-holds.js';

const BLOCKS = Number(process.argv[2] ?? 100_000);
const MODE = process.argv[3] === 'kernel' ? 'kernel' : 'engine';
const WHERE = process.argv[4] === 'loop' ? 'loop' : 'thread';
/** Data-plane workers (`--workers N`): above 1 the query path runs on worker threads and the scrape on the control plane. */
const WORKERS = Number(process.argv[5] ?? 1);
const RUNS = 15;
/**
 * `SCRAPE_BENCH_CLIENT_CPU=n`: the probe and the scraper (curl included) run on CPU n and the proxy's
 * threads on the others, as a Prometheus server and DNS clients on other hosts would; unset, all
 * share every CPU and the proxy's event loop also waits for the clients' turns.
 */
const CLIENT_CPU = process.env.SCRAPE_BENCH_CLIENT_CPU;

function pinClients(pids: readonly number[]): string {
  if (CLIENT_CPU === undefined) return 'clients and proxy share every CPU';
  const cpus = availableParallelism();
  if (!/^\d+$/.test(CLIENT_CPU) || Number(CLIENT_CPU) >= cpus || cpus < 2) {
    throw new Error(`SCRAPE_BENCH_CLIENT_CPU=${CLIENT_CPU}: give one CPU number below ${cpus} (needs 2 CPUs or more)`);
  }
  const others = [...Array(cpus).keys()].filter((c) => c !== Number(CLIENT_CPU)).join(',');
  // -a: every thread that exists now; threads started later inherit their creator's affinity.
  for (const pid of pids) execFileSync('taskset', ['-a', '-p', '-c', CLIENT_CPU, String(pid)], { stdio: 'ignore' });
  execFileSync('taskset', ['-a', '-p', '-c', others, String(process.pid)], { stdio: 'ignore' });
  return `probe and scraper on CPU ${CLIENT_CPU}, the proxy on CPU ${others}`;
}

function probeLine(label: string, w: ProbeWindow): string {
  return `${label} ${w.answered} answers, ${w.lost} lost; delay median ${w.medianMs.toFixed(2)} ms, p99 ${w.p99Ms.toFixed(2)} ms, max ${w.maxMs.toFixed(1)} ms, ${w.over10Ms} over 10 ms`;
}

/** User+system CPU of the main thread (the event loop), from /proc (clock ticks of 10 ms). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const pinDir = `/sys/fs/bpf/dts-bench-${process.pid}`;
  const tmp = mkdtempSync(join(tmpdir(), 'dts-bench-'));
  mkdirSync(pinDir);
  const size = Math.max(1024, BLOCKS * 2);
  const fields = ['ipv4', 'ipv6', 'qnames', 'cidr4', 'cidr6']
    .map((m, i) => `${m}MaxItems=${size}, ${m}PinnedPath="${pinDir}/${['addr-v4', 'addr-v6', 'qnames', 'cidr4', 'cidr6'][i]}"`)
    .join(', ');
  const config = join(tmp, 'bench.conf');
  const dnsPort = await freePort();
  writeFileSync(
    config,
    `setLocal("127.0.0.1:${dnsPort}")\naddAction(AllRule(), RCodeAction(DNSRCode.NXDOMAIN))\n` +
      (MODE === 'engine' ? `setDefaultBPFFilter(newBPFFilter{${fields}, external=true})\n` : '') +
      `webserver("127.0.0.1:0")\nsetWebserverConfig({apiKey="key"})\n`,
  );
  let filter: BPFFilter | undefined;
  const app = new DnsdistApp({
    configFile: config,
    output: () => undefined,
    // Workers share their listener with SO_REUSEPORT, which only the native UDP endpoint has.
    ...(WORKERS > 1 ? { workers: WORKERS } : { udpImplementation: 'dgram' as const }),
  });
  try {
    await app.loadConfiguration();
    await app.start();
    let t = performance.now();
    if (MODE === 'engine') {
      const engine = app.web.providers.blockControl()!;
      for (let i = 0; i < BLOCKS; i++) {
        engine.addBlock({
          kind: 'address',
          target: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          action: 'Drop',
          seconds: 3600,
          reason: 'bench',
        });
      }
    } else {
      const maps = Object.fromEntries(
        (['ipv4', 'ipv6', 'qnames', 'cidr4', 'cidr6'] as const).map((m) => [m, { maxItems: size, pinnedPath: `${pinDir}/${m}` }]),
      );
      filter = new BPFFilter({ external: true, maps });
      for (let i = 0; i < BLOCKS; i++) filter.block(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, MatchAction.Drop);
      app.web.providers.kernelCounters.push(bpfFilterKernelCounters(filter));
    }
    if (WHERE === 'loop') {
      // The same walk without kernelFilters(): the scrape cannot hand it to the thread.
      const list = app.web.providers.kernelCounters;
      list.splice(
        0,
        list.length,
        ...list.map((p) => ({ visitKernelCounters: p.visitKernelCounters, walkKernelCounters: p.walkKernelCounters })),
      );
    }
    console.log(
      `mode ${MODE}, per-entry family on the ${WHERE === 'loop' ? 'event loop' : 'renderer thread'}, ${WORKERS} data-plane worker(s)`,
    );
    console.log(`mode ${MODE}: inserted ${BLOCKS} blocks in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    let kernelEntries = 0;
    for (const provider of app.web.providers.kernelCounters) provider.visitKernelCounters(() => kernelEntries++);
    console.log(`kernel entries listed: ${kernelEntries}`);
    // The once-a-second housekeeping measured alone: its synchronous part (the engine's tick and the
    // kernel purge, which hold the event loop) and the kernel-hit fold, a sliced pass where it exists.
    const ticks: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      app.dynBlocks.tick(t0);
      app.ebpf.purgeExpired();
      ticks.push(performance.now() - t0);
    }
    console.log(
      `housekeeping tick (engine tick + kernel purge, one hold): median ${median(ticks).toFixed(2)} ms, max ${Math.max(...ticks).toFixed(2)} ms (${RUNS} runs)`,
    );
    const mirror = app.dynBlocks.kernel as { foldHits?: (s: EventLoopSlicer) => Promise<boolean> };
    if (mirror.foldHits) {
      const slicer = new EventLoopSlicer(HIT_FOLD_SLICE_MS);
      const c = process.cpuUsage();
      const t0 = performance.now();
      await mirror.foldHits(slicer);
      const used = process.cpuUsage(c);
      console.log(
        `kernel-hit fold pass: ${(performance.now() - t0).toFixed(1)} ms wall, ${((used.user + used.system) / 1000).toFixed(1)} ms CPU, longest slice ${slicer.longestSliceMs.toFixed(1)} ms, ${slicer.yields} yields`,
      );
    }
    // What a scrape's small families cost on the event loop beyond the per-entry family: counting the active blocks.
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      app.web.providers.activeBlockCounts();
      counts.push(performance.now() - t0);
    }
    console.log(
      `active block counts (one hold per scrape): median ${median(counts).toFixed(1)} ms, max ${Math.max(...counts).toFixed(1)} ms`,
    );
    // Two more synchronous holds that visit the engine's blocks: fleet sync's statistics (each scrape asks,
    // fleet configured or not) and the top-offender sample the web service takes every 10 s.
    const holds = (f: () => unknown): string => {
      const xs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        f();
        xs.push(performance.now() - t0);
      }
      return `median ${median(xs).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;
    };
    console.log(`fleet sync statistics (one hold per scrape): ${holds(() => app.web.providers.fleet?.stats())}`);
    console.log(`top-offender sample (one hold every 10 s): ${holds(() => app.web.sampleTopOffenders())}`);
    const port = app.web.server!.port;
    const renders: number[] = [];
    const slices: number[] = [];
    const cpu: number[] = [];
    let bytes = 0;
    const sampler = new EventLoopHoldSampler();
    sampler.start();
    for (let i = 0; i < RUNS; i++) {
      const c = process.cpuUsage();
      t = performance.now();
      // scrape(), as the webserver calls it (render() would copy the body out of the reused buffer).
      const s = await app.web.metrics.scrape();
      bytes = s.body.length;
      s.release?.();
      renders.push(performance.now() - t);
      slices.push(app.web.metrics.lastLongestSliceSeconds * 1000);
      const used = process.cpuUsage(c);
      cpu.push((used.user + used.system) / 1000);
    }
    const renderHolds = sampler.window();
    // The event loop's garbage-collection pauses during the HTTP scrapes (the renderer thread's are its own).
    const gcPauses: number[] = [];
    const gc = new PerformanceObserver((list) => list.getEntries().forEach((e) => gcPauses.push(e.duration)));
    const probe = new DnsLatencyProbe(dnsPort);
    const curl = new CurlScraper();
    const pinning = pinClients([probe.pid, curl.pid]);
    const url = `http://127.0.0.1:${port}/metrics`;
    await new Promise((r) => setTimeout(r, 3000));
    const idle = await probe.window();
    gc.observe({ entryTypes: ['gc'] });
    sampler.start();
    const mainCpu0 = mainThreadCpuMs();
    const plain: number[] = [];
    let plainBytes = 0;
    for (let i = 0; i < RUNS; i++) {
      const s = await curl.scrape(url, ['X-API-Key: key']);
      plain.push(s.ms);
      plainBytes = s.bytes;
    }
    const duringPlain = await probe.window();
    const mainCpu = mainThreadCpuMs() - mainCpu0;
    const plainHolds: HoldWindow = sampler.window();
    gc.disconnect();
    sampler.start();
    const gzip: number[] = [];
    let gzipBytes = 0;
    for (let i = 0; i < RUNS; i++) {
      const s = await curl.scrape(url, ['X-API-Key: key', 'Accept-Encoding: gzip']);
      gzip.push(s.ms);
      gzipBytes = s.bytes;
    }
    const duringGzip = await probe.window();
    const gzipHolds = sampler.window();
    sampler.close();
    await probe.stop();
    await curl.stop();
    console.log(`exposition: ${(bytes / 1e6).toFixed(1)} MB`);
    console.log(
      `render:       median ${median(renders).toFixed(1)} ms wall, ${median(cpu).toFixed(1)} ms CPU (all threads); max ${Math.max(...renders).toFixed(1)} ms (${RUNS} runs)`,
    );
    console.log(
      `longest slice: median ${median(slices).toFixed(1)} ms, max ${Math.max(...slices).toFixed(1)} ms (the scrape's longest hold of the event loop)`,
    );
    console.log(
      `load average: ${(await import('node:os'))
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')} on ${(await import('node:os')).cpus().length} CPUs; ${pinning}`,
    );
    console.log(
      `HTTP scrape:  median ${median(plain).toFixed(1)} ms, max ${Math.max(...plain).toFixed(1)} ms, ${(plainBytes / 1e6).toFixed(2)} MB (${RUNS} runs)`,
    );
    console.log(
      `gzip scrape:  median ${median(gzip).toFixed(1)} ms, max ${Math.max(...gzip).toFixed(1)} ms, ${(gzipBytes / 1e6).toFixed(2)} MB (${RUNS} runs)`,
    );
    console.log(
      `event-loop GC during plain scrapes: ${gcPauses.length} pauses, ${gcPauses.reduce((a, b) => a + b, 0).toFixed(1)} ms in all, longest ${Math.max(0, ...gcPauses).toFixed(1)} ms`,
    );
    console.log(
      `event-loop thread CPU during the ${RUNS} plain scrapes: ${mainCpu.toFixed(0)} ms (DNS answers included; 10 ms resolution)`,
    );
    console.log(holdLine('event loop, in-process renders:', renderHolds));
    console.log(holdLine('event loop, plain scrapes:     ', plainHolds));
    console.log(holdLine('event loop, gzip scrapes:      ', gzipHolds));
    console.log(probeLine('DNS idle (3 s):      ', idle));
    console.log(probeLine('DNS during plain:    ', duringPlain));
    console.log(probeLine('DNS during gzip:     ', duringGzip));
  } finally {
    await app.stop();
    filter?.close();
    rmSync(pinDir, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
