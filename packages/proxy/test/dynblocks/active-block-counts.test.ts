/**
 * The engine's running counts of blocks in force (what /metrics reads on
 * each scrape) against a full scan of both tables, after random
 * insertions, refreshes, removals, expiries, purges, kernel changes and
 * clears. Pure logic: the kernel is the in-memory FakeKernelSink.
 */
import { DNSName, parseAddress } from '@dnsdist-ts/dns';
import type { ActiveBlockTally } from '@dnsdist-ts/dynblocks/dynblocks/active-block-counter.js';
import { ClientBlockRange } from '@dnsdist-ts/dynblocks/dynblocks/client-block-range.js';
import type { DynamicBlocks } from '@dnsdist-ts/dynblocks/dynblocks/dynamic-blocks.js';
import { DEFAULT_KERNEL_OPTIONS } from '@dnsdist-ts/dynblocks/dynblocks/kernel-options.js';
import { DynamicBlocksSource } from '@dnsdist-ts/web/metrics/dynamic-blocks-source.js';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { FakeKernelSink } from './fake-kernel-sink.js';
import { TestWorld } from './test-clock-world.js';

/** What the scrape computed before the running counts: every block visited. */
function fullScan(blocks: DynamicBlocks, now: number): ActiveBlockTally {
  const c = { netmaskKernel: 0, netmaskUserspace: 0, suffixKernel: 0, suffixUserspace: 0, remote: 0 };
  for (const b of blocks.clients.values()) {
    if (!(now < b.until)) continue;
    c[b.bpf ? 'netmaskKernel' : 'netmaskUserspace']++;
    if (b.origin !== undefined) c.remote++;
  }
  for (const b of blocks.suffixes.values()) {
    if (!(now < b.until)) continue;
    c[b.bpf ? 'suffixKernel' : 'suffixUserspace']++;
    if (b.origin !== undefined) c.remote++;
  }
  return c;
}

/** A small seeded generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACTIONS = [DNSAction.Drop, DNSAction.Truncate, DNSAction.Refused, DNSAction.None, DNSAction.Allow, DNSAction.NoOp];
const NAMES = ['a.example', 'b.example', 'example', 'x.a.example', 'other.test', 'test'];

describe('running counts of the blocks in force', () => {
  it.each([1, 2, 3, 4, 5])('equal a full scan after random operations (seed %i)', (seed) => {
    const rnd = random(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const w = new TestWorld();
    const e = w.blocks;
    e.purgeIntervalSeconds = 3;
    e.kernel.options = { ...DEFAULT_KERNEL_OPTIONS, ranges: true, suffixes: true, allowPass: true };
    const sinks = [new FakeKernelSink(), new FakeKernelSink(), undefined];
    const sink0 = sinks[0]!;
    e.setKernelSink(sink0, 0);
    let now = 1000;
    const seen = { kernel: 0, remote: 0, expired: 0, removed: 0 };
    for (let step = 0; step < 3000; step++) {
      const op = rnd();
      const until = now + Math.floor(rnd() * 6000) - 500;
      // A block from a fleet peer has an origin; a refresh from here takes it away, one from a peer sets it.
      const spec = { reason: 'r', action: pick(ACTIONS), until, warning: rnd() < 0.15, origin: rnd() < 0.3 ? 'peer' : undefined };
      const opts = { now, seconds: 5, kernelEligible: rnd() < 0.8, quiet: true };
      if (op < 0.35) {
        const range = ClientBlockRange.of(parseAddress(`192.0.2.${Math.floor(rnd() * 24)}`).bytes, 0, pick([32, 32, 30, 24]), 128);
        e.addOrRefreshClientBlock(range, spec, opts);
      } else if (op < 0.5) {
        e.addOrRefreshSuffixBlock(DNSName.fromString(pick(NAMES)), spec, opts);
      } else if (op < 0.6) {
        const b = pick([...e.clients.values(), ...e.suffixes.values()]);
        if (b) {
          if (b.range) e.removeClientBlock(b.range);
          else e.removeSuffixBlock(b.domain!);
          seen.removed++;
        }
      } else if (op < 0.85) {
        now += Math.floor(rnd() * 800);
        e.tick(now);
      } else if (op < 0.9) {
        seen.expired += e.purgeExpired(now);
      } else if (op < 0.93) {
        e.defaultAction = pick([DNSAction.Drop, DNSAction.Refused]);
      } else if (op < 0.96) {
        sink0.refuseInserts = !sink0.refuseInserts;
      } else if (op < 0.985) {
        e.setKernelSink(pick(sinks), now);
      } else {
        e.clear();
      }
      // Read sometimes at once, sometimes after time has moved on (blocks expire between reads).
      if (rnd() < 0.5) {
        const expected = fullScan(e, now);
        expect({ step, ...e.activeBlockCounts(now) }).toEqual({ step, ...expected });
        seen.kernel += expected.netmaskKernel + expected.suffixKernel;
        seen.remote += expected.remote;
      }
    }
    // The walk went through kernel copies, expiries and removals, not just empty tables.
    expect(seen.kernel).toBeGreaterThan(0);
    expect(seen.remote).toBeGreaterThan(0);
    expect(seen.expired).toBeGreaterThan(0);
    expect(seen.removed).toBeGreaterThan(0);
  });

  it('are what the /metrics source reports, without visiting the blocks', () => {
    const w = new TestWorld();
    const sink = new FakeKernelSink();
    w.blocks.setKernelSink(sink, 0);
    const now = performance.now();
    const spec = { reason: 'r', action: DNSAction.Drop, until: now + 60_000, warning: false };
    w.blocks.addOrRefreshClientBlock(ClientBlockRange.of(parseAddress('192.0.2.1').bytes, 0), spec, {
      now,
      seconds: 60,
      kernelEligible: true,
    });
    w.blocks.addOrRefreshClientBlock(ClientBlockRange.of(parseAddress('192.0.2.2').bytes, 0), spec, {
      now,
      seconds: 60,
      kernelEligible: false,
    });
    w.blocks.addOrRefreshSuffixBlock(DNSName.fromString('bad.example'), spec, { now, seconds: 60, kernelEligible: true });
    const source = new DynamicBlocksSource(w.blocks);
    const values = w.blocks.clients.values.bind(w.blocks.clients);
    let visits = 0;
    w.blocks.clients.values = () => {
      visits++;
      return values();
    };
    expect(source.activeBlockCounts()).toEqual({ netmaskKernel: 1, netmaskUserspace: 1, suffixKernel: 1, suffixUserspace: 0 });
    expect(visits).toBe(0);
  });
});
