import { DNSName, parseAddress } from '@dnsdist-ts/dns';
import { ClientBlockRange } from '@dnsdist-ts/dynblocks/dynblocks/client-block-range.js';
import type { DynBlockSpec } from '@dnsdist-ts/dynblocks/dynblocks/dyn-block.js';
import { DynBlockRateRule } from '@dnsdist-ts/dynblocks/dynblocks/dyn-block-rule.js';
import { RESTORED_REASON } from '@dnsdist-ts/dynblocks/dynblocks/dynamic-blocks.js';
import { HIT_FOLD_CHECK_EVERY } from '@dnsdist-ts/dynblocks/dynblocks/kernel-mirror.js';
import { showDynBlocks } from '@dnsdist-ts/dynblocks/dynblocks/show-dyn-blocks.js';
import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { makeQuery } from '../rings/ring-fixtures.js';
import { FakeKernelSink, FakeKernelSinkWithInventory } from './fake-kernel-sink.js';
import { TestWorld } from './test-clock-world.js';

const NOW = 200_000;

function world(): { w: TestWorld; sink: FakeKernelSink } {
  const w = new TestWorld();
  const sink = new FakeKernelSink();
  w.blocks.setKernelSink(sink);
  return { w, sink };
}

function addClient(
  w: TestWorld,
  text: string,
  action: DNSActionCode,
  opts: { v4?: number; v6?: number; portBits?: number; port?: number; warning?: boolean; kernel?: boolean; until?: number } = {},
) {
  const range = ClientBlockRange.of(parseAddress(text).bytes, opts.port ?? 0, opts.v4 ?? 32, opts.v6 ?? 128, opts.portBits ?? 0);
  const spec: DynBlockSpec = { reason: 'r', action, until: opts.until ?? NOW + 10_000, warning: opts.warning ?? false };
  w.blocks.addOrRefreshClientBlock(range, spec, { now: NOW, seconds: 10, kernelEligible: opts.kernel ?? true });
}

describe('kernel copies: which blocks reach the sink (reference §2.6 and our options)', () => {
  it('mirrors Drop and Truncate single-address blocks from rule groups, with the default action resolved', () => {
    const { w, sink } = world();
    addClient(w, '192.0.2.1', DNSAction.Drop);
    addClient(w, '192.0.2.2', DNSAction.Truncate);
    addClient(w, '192.0.2.3', DNSAction.Refused);
    addClient(w, '192.0.2.4', DNSAction.NoOp);
    addClient(w, '192.0.2.5', DNSAction.Drop, { warning: true });
    addClient(w, '192.0.2.6', DNSAction.None);
    addClient(w, '192.0.2.7', DNSAction.Drop, { kernel: false });
    addClient(w, '2001:db8::1', DNSAction.Drop);
    addClient(w, '192.0.2.8', DNSAction.Drop, { portBits: 4, port: 4096 });
    addClient(w, '192.0.2.9', DNSAction.Allow);
    expect([...sink.entries.keys()].sort()).toEqual(['address:192.0.2.1', 'address:192.0.2.2', 'address:192.0.2.6', 'address:2001:db8::1']);
    expect(sink.entries.get('address:192.0.2.2')!.action).toBe('truncate');
    expect(w.warnings()).toContain('Inserting eBPF dynamic block for 192.0.2.1/32 for 10 seconds: r');
    expect(w.warnings()).toContain('Inserting dynamic block for 192.0.2.3/32 for 10 seconds: r');

    w.blocks.defaultAction = DNSAction.Refused;
    addClient(w, '198.51.100.1', DNSAction.None);
    expect(sink.entries.has('address:198.51.100.1')).toBe(false);
  });

  it('ranges, suffixes and Allow follow setDynBlocksKernelOptions', () => {
    const { w, sink } = world();
    addClient(w, '10.0.0.0', DNSAction.Drop, { v4: 24 });
    w.blocks.addOrRefreshSuffixBlock(
      DNSName.fromString('Bad.Example'),
      { reason: 's', action: DNSAction.Truncate, until: NOW + 5000, warning: false },
      { now: NOW, seconds: 5, kernelEligible: true },
    );
    expect([...sink.entries.keys()].sort()).toEqual(['range:10.0.0.0/24', 'suffix:bad.example.']);

    const off = world();
    off.w.blocks.kernel.options = { ranges: false, suffixes: false, skipUserspace: false, allowPass: true };
    addClient(off.w, '10.0.0.0', DNSAction.Drop, { v4: 24 });
    off.w.blocks.addOrRefreshSuffixBlock(
      DNSName.fromString('bad.example'),
      { reason: 's', action: DNSAction.Drop, until: NOW + 5000, warning: false },
      { now: NOW, seconds: 5, kernelEligible: true },
    );
    addClient(off.w, '192.0.2.9', DNSAction.Allow);
    expect([...off.sink.entries.entries()].map(([k, v]) => `${k} ${v.action}`)).toEqual(['address:192.0.2.9 pass']);
  });

  it('what the sink does not support, or refuses, stays in userspace only', () => {
    const { w, sink } = world();
    sink.supported = { address: ['drop'] };
    addClient(w, '192.0.2.1', DNSAction.Truncate);
    expect(sink.calls).toEqual([]);
    sink.refuseInserts = true;
    w.log.verbose = true;
    addClient(w, '192.0.2.2', DNSAction.Drop);
    expect(sink.calls).toEqual(['insert address:192.0.2.2 drop']);
    const b = w.blocks.clients.get(ClientBlockRange.of(parseAddress('192.0.2.2').bytes, 0))!;
    expect(b.bpf).toBe(false);
    expect(w.lines).toContain('verbose: Unable to insert eBPF dynamic block for 192.0.2.2/32, falling back to regular dynamic block');
    expect(w.check.check(makeQuery({ client: '192.0.2.2', at: NOW }))).toBe(1);
  });
});

describe('kernel copies: a block inside a wider one', () => {
  it('a new address inside a live range gets its own kernel copy and log line, and keeps it after the range ends', () => {
    const { w, sink } = world();
    addClient(w, '10.1.2.0', DNSAction.Drop, { v4: 24, until: NOW + 10_000 });
    addClient(w, '10.1.2.7', DNSAction.Truncate, { until: NOW + 30_000 });
    expect([...sink.entries.keys()]).toEqual(['range:10.1.2.0/24', 'address:10.1.2.7']);
    expect(sink.entries.get('address:10.1.2.7')).toMatchObject({ action: 'truncate', until: NOW + 30_000 });
    expect(w.blocks.clients.get(ClientBlockRange.of(parseAddress('10.1.2.7').bytes, 0))!.bpf).toBe(true);
    expect(w.warnings()).toEqual([
      'Inserting eBPF dynamic block for 10.1.2.0/24 for 10 seconds: r',
      'Inserting eBPF dynamic block for 10.1.2.7/32 for 10 seconds: r (inside the dynamic block for 10.1.2.0/24)',
    ]);
    // The range ends: its copy leaves, the address's stays until its own deadline.
    w.blocks.tick(NOW + 10_000);
    expect([...sink.entries.keys()]).toEqual(['address:10.1.2.7']);
    w.blocks.tick(NOW + 29_999);
    expect([...sink.entries.keys()]).toEqual(['address:10.1.2.7']);
    w.blocks.tick(NOW + 30_000);
    expect(sink.entries.size).toBe(0);
  });

  it('a refresh of the narrower block itself stays silent; one shorter than the wider block changes nothing, as in dnsdist', () => {
    const { w, sink } = world();
    addClient(w, '10.1.2.0', DNSAction.Drop, { v4: 24, until: NOW + 10_000 });
    addClient(w, '10.1.2.9', DNSAction.Drop, { until: NOW + 5_000 });
    expect(w.blocks.clients.size).toBe(1);
    addClient(w, '10.1.2.7', DNSAction.Drop, { until: NOW + 20_000 });
    addClient(w, '10.1.2.7', DNSAction.Drop, { until: NOW + 25_000 });
    expect(sink.entries.get('address:10.1.2.7')!.until).toBe(NOW + 25_000);
    expect(w.warnings()).toHaveLength(2);
  });

  it('a new suffix below a live suffix block gets its own kernel copy', () => {
    const { w, sink } = world();
    const spec = (until: number): DynBlockSpec => ({ reason: 's', action: DNSAction.Drop, until, warning: false });
    const opts = { now: NOW, seconds: 10, kernelEligible: true };
    w.blocks.addOrRefreshSuffixBlock(DNSName.fromString('example.test'), spec(NOW + 10_000), opts);
    w.blocks.addOrRefreshSuffixBlock(DNSName.fromString('bad.example.test'), spec(NOW + 30_000), opts);
    expect([...sink.entries.keys()]).toEqual(['suffix:example.test.', 'suffix:bad.example.test.']);
    expect(w.warnings().at(-1)).toBe(
      'Inserting eBPF dynamic block for bad.example.test for 10 seconds: s (inside the dynamic block for example.test)',
    );
    w.blocks.tick(NOW + 10_000);
    expect([...sink.entries.keys()]).toEqual(['suffix:bad.example.test.']);
  });
});

describe('kernel copies: lifetime and counters', () => {
  it('refreshes move the deadline; the copy leaves at the first tick after expiry, the entry at the purge', () => {
    const { w, sink } = world();
    const g = w.group();
    g.setQueryRate(new DynBlockRateRule({ rate: 5, seconds: 1, reason: 'qr', blockSeconds: 3, action: DNSAction.Drop, warningRate: 0 }));
    w.queries(10, NOW - 900, NOW, { client: '192.0.2.1' });
    g.apply(NOW);
    expect(sink.entries.get('address:192.0.2.1')!.until).toBe(NOW + 3000);
    w.queries(10, NOW + 100, NOW + 1000, { client: '192.0.2.1' });
    g.apply(NOW + 1000);
    expect(sink.entries.get('address:192.0.2.1')!.until).toBe(NOW + 4000);
    expect(sink.calls).toEqual(['insert address:192.0.2.1 drop', 'insert address:192.0.2.1 drop']);
    // One log line only: the refresh is silent.
    expect(w.warnings()).toEqual(['Inserting eBPF dynamic block for 192.0.2.1/32 for 3 seconds: qr']);

    w.blocks.tick(NOW + 3999);
    expect(sink.entries.size).toBe(1);
    w.blocks.tick(NOW + 4000);
    expect(sink.entries.size).toBe(0);
    expect(sink.calls.at(-1)).toBe('remove address:192.0.2.1');
    // The userspace entry stays (expired) until the purge: it still counts in dyn-block-nmg-size.
    expect(w.blocks.clients.size).toBe(1);
    // The purge runs every setDynBlocksPurgeInterval seconds (60; the first tick above started the count).
    w.blocks.tick(NOW + 3999 + 59_999);
    expect(w.blocks.clients.size).toBe(1);
    w.blocks.tick(NOW + 3999 + 60_000);
    expect(w.blocks.clients.size).toBe(0);
  });

  it('counts kernel hits into dyn-blocked and the block while it lives (a fold pass), and shows them', async () => {
    const { w, sink } = world();
    addClient(w, '192.0.2.1', DNSAction.Drop);
    sink.hit('address:192.0.2.1', 40);
    // The tick only handles what expired; the hits come in with the fold pass the proxy starts beside it.
    w.blocks.tick(NOW + 1000);
    expect(w.counters.dynBlocked).toBe(0);
    expect(await w.blocks.kernel.foldHits({ checkpoint: () => Promise.resolve() })).toBe(true);
    const b = w.blocks.clients.get(ClientBlockRange.of(parseAddress('192.0.2.1').bytes, 0))!;
    expect(b.blocks).toBe(40);
    expect(w.counters.dynBlocked).toBe(40);
    // A query that still reaches userspace counts too.
    expect(w.check.check(makeQuery({ client: '192.0.2.1', at: NOW + 1000 }))).toBe(1);
    sink.hit('address:192.0.2.1', 2);
    expect(showDynBlocks(w.blocks, NOW + 1000)).toBe(
      [
        'What                      Seconds   Blocks Warning    Action               eBPF  Reason',
        '192.0.2.1/32                    9       43 false      Drop                 *     r',
        '',
      ].join('\n'),
    );
    expect(w.counters.dynBlocked).toBe(43);
    // Hits counted before the copy leaves are not lost.
    sink.hit('address:192.0.2.1', 7);
    w.blocks.tick(NOW + 10_000);
    expect(w.counters.dynBlocked).toBe(50);
  });

  it('a tick with 10,000 live blocks visits only the expired ones (purge and kernel copies), counting reads', () => {
    const { w, sink } = world();
    for (let i = 0; i < 10_000; i++) addClient(w, `10.0.${i >> 8}.${i & 255}`, DNSAction.Drop, { until: NOW + 120_000 });
    for (let i = 1; i <= 3; i++) addClient(w, `192.0.2.${i}`, DNSAction.Drop, { until: NOW + 500 });
    // Count every read of a block's deadline, the one thing a pass over the blocks must look at.
    let reads = 0;
    for (const b of w.blocks.clients.values()) {
      let until = b.until;
      Object.defineProperty(b, 'until', {
        get: () => {
          reads++;
          return until;
        },
        set: (v: number) => {
          until = v;
        },
      });
    }
    sink.hitReads = 0;
    // The first tick also runs the purge (its interval has passed since the world's clock started at 0).
    w.blocks.tick(NOW + 1000);
    expect(w.blocks.clients.size).toBe(10_000);
    expect(sink.entries.size).toBe(10_000);
    expect([...sink.entries.keys()].some((k) => k.startsWith('address:192.0.2.'))).toBe(false);
    // Three blocks expired: their last hits were read as their copies left, and nothing else was.
    expect(sink.hitReads).toBe(3);
    expect(reads).toBeLessThanOrEqual(3 * 4);
    reads = 0;
    // Later ticks, one of them with a purge, while all 10,000 are still in force: not one read.
    w.blocks.tick(NOW + 2000);
    w.blocks.tick(NOW + 1000 + 60_000);
    expect(reads).toBe(0);
    expect(w.blocks.clients.size).toBe(10_000);
    expect(sink.hitReads).toBe(3);
  });

  it('the hit fold reads every copy once, giving the loop back between slices', async () => {
    const { w, sink } = world();
    for (let i = 0; i < 1000; i++) addClient(w, `10.1.${i >> 8}.${i & 255}`, DNSAction.Drop);
    sink.hit('address:10.1.0.7', 5);
    sink.hitReads = 0;
    let checkpoints = 0;
    const pass = w.blocks.kernel.foldHits({
      checkpoint: async () => {
        checkpoints++;
        await Promise.resolve();
      },
    });
    // A second pass while one runs is refused rather than doubling the reads.
    expect(await w.blocks.kernel.foldHits({ checkpoint: () => Promise.resolve() })).toBe(false);
    expect(await pass).toBe(true);
    expect(sink.hitReads).toBe(1000);
    expect(checkpoints).toBeGreaterThanOrEqual(10);
    expect(w.counters.dynBlocked).toBe(5);
    // The next pass waits FOLD_PAUSE_FACTOR times as long as this one took; one started when due reads again.
    sink.hit('address:10.1.0.7', 1);
    expect(await w.blocks.kernel.foldHitsIfDue(performance.now() + 3_600_000, { checkpoint: () => Promise.resolve() })).toBe(true);
    expect(w.counters.dynBlocked).toBe(6);
  });

  it('the hit fold checks its slice budget every HIT_FOLD_CHECK_EVERY reads, so a slice stays short under load', async () => {
    const { w, sink } = world();
    for (let i = 0; i < 1000; i++) addClient(w, `10.2.${i >> 8}.${i & 255}`, DNSAction.Drop);
    sink.hitReads = 0;
    let last = 0;
    let longest = 0;
    await w.blocks.kernel.foldHits({
      checkpoint: () => {
        longest = Math.max(longest, sink.hitReads - last);
        last = sink.hitReads;
        return Promise.resolve();
      },
    });
    longest = Math.max(longest, sink.hitReads - last);
    expect(sink.hitReads).toBe(1000);
    expect(longest).toBeLessThanOrEqual(HIT_FOLD_CHECK_EVERY);
    expect(HIT_FOLD_CHECK_EVERY).toBeLessThanOrEqual(16);
  });

  it('clearDynBlocks and a sink change take every copy out', () => {
    const { w, sink } = world();
    addClient(w, '192.0.2.1', DNSAction.Drop);
    addClient(w, '192.0.2.2', DNSAction.Truncate);
    w.blocks.clear();
    expect(sink.entries.size).toBe(0);
    expect(w.blocks.clients.size).toBe(0);
    addClient(w, '192.0.2.3', DNSAction.Drop);
    w.blocks.setKernelSink(undefined);
    expect(sink.entries.size).toBe(0);
    expect(w.blocks.clients.get(ClientBlockRange.of(parseAddress('192.0.2.3').bytes, 0))!.bpf).toBe(false);
  });

  it('a refresh with another action replaces the copy; one that is no longer eligible removes it', () => {
    const { w, sink } = world();
    addClient(w, '192.0.2.1', DNSAction.Truncate);
    addClient(w, '192.0.2.1', DNSAction.Drop, { until: NOW + 20_000 });
    expect(sink.entries.get('address:192.0.2.1')!.action).toBe('drop');
    addClient(w, '192.0.2.1', DNSAction.Refused, { until: NOW + 30_000 });
    expect(sink.entries.size).toBe(0);
  });

  it('adopts the unexpired blocks a previous run left in the kernel', () => {
    const w = new TestWorld();
    const sink = new FakeKernelSinkWithInventory([
      { kind: 'address', address: parseAddress('192.0.2.1').bytes, action: 'drop', until: NOW + 5000 },
      { kind: 'range', network: parseAddress('10.0.0.0').bytes, prefix: 8, action: 'truncate', until: NOW + 5000 },
      { kind: 'suffix', name: DNSName.fromString('bad.example'), action: 'drop', until: NOW + 5000 },
      { kind: 'address', address: parseAddress('192.0.2.2').bytes, action: 'drop', until: NOW - 1 },
    ]);
    w.blocks.setKernelSink(sink, NOW);
    expect(w.lines).toContain('info: Restored 3 dynamic blocks from the kernel maps');
    expect(w.clientTable(NOW)).toEqual({
      '10.0.0.0/8': `${RESTORED_REASON}|${DNSAction.Truncate}|false`,
      '192.0.2.1/32': `${RESTORED_REASON}|${DNSAction.Drop}|false`,
    });
    expect(w.blocks.activeSuffixBlocks(NOW).map((b) => b.keyText())).toEqual(['bad.example.']);
    w.blocks.tick(NOW + 5000);
    expect([...sink.entries.keys()]).toEqual(['address:192.0.2.2']);
  });
});

describe('showDynBlocks', () => {
  it("prints dnsdist 1.7.3's table without a kernel sink, in dnsdist's order", () => {
    const w = new TestWorld();
    addClient(w, '10.1.0.1', DNSAction.Drop);
    addClient(w, '10.0.0.1', DNSAction.None);
    addClient(w, '::1', DNSAction.Truncate);
    addClient(w, '9.0.0.1', DNSAction.NoRecurse);
    addClient(w, '127.0.0.1', DNSAction.NoOp, { warning: true });
    addClient(w, '127.0.0.1', DNSAction.NoOp, { warning: true, portBits: 2, port: 40000 });
    for (const n of ['a.example', 'x.a.example', 'B.example', 'www.b.example', 'z.', 'c.example']) {
      w.blocks.addOrRefreshSuffixBlock(
        DNSName.fromString(n),
        { reason: 's', action: DNSAction.Nxdomain, until: NOW + 40_000, warning: false },
        { now: NOW, seconds: 40, kernelEligible: false },
      );
    }
    addClient(w, '192.0.2.1', DNSAction.Drop, { until: NOW });
    expect(showDynBlocks(w.blocks, NOW)).toBe(
      [
        'What                      Seconds   Blocks Warning    Action               Reason',
        '9.0.0.1/32                     10        0 false      Set rd=0             r',
        '10.0.0.1/32                    10        0 false      Drop                 r',
        '10.1.0.1/32                    10        0 false      Drop                 r',
        '127.0.0.1/32                   10        0 true       Do nothing           r',
        '127.0.0.1:32768/2              10        0 true       Do nothing           r',
        '::1/128                        10        0 false      Truncate over UDP    r',
        'x.a.example.                   40        0 false      Send NXDomain        s',
        'a.example.                     40        0 false      Send NXDomain        s',
        'www.b.example.                 40        0 false      Send NXDomain        s',
        'b.example.                     40        0 false      Send NXDomain        s',
        'c.example.                     40        0 false      Send NXDomain        s',
        'z.                             40        0 false      Send NXDomain        s',
        '',
      ].join('\n'),
    );
  });
});
