import { rmSync } from 'node:fs';
import { BpfMap } from '@dnsdist-ts/bpf';
import { BPFFilter, cidrKey, ipv4Key, ipv6Key, nowNs, pinnedExternalOptions } from '@dnsdist-ts/bpf-filter';
import { SuffixMap, XdpFilter, suffixKey } from '@dnsdist-ts/xdp-filter';
import { DNSName } from '@dnsdist-ts/dns';
import type { KernelBlock } from '@dnsdist-ts/dynblocks/dynblocks/kernel-block-sink.js';
import { DefaultBpfFilterRegistry } from '@dnsdist-ts/ebpf/ebpf/default-bpf-filter-registry.js';
import { monotonicNsFromPerformance } from '@dnsdist-ts/ebpf/ebpf/monotonic-deadline.js';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import { waitFor } from '../support/dns-client.js';

const v4 = (text: string) => Uint8Array.from(text.split('.').map(Number));
const v6db8 = (last: number) => Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), last]);

/** The raw value of one pinned map entry: an independent read, not through BPFFilter. */
function raw(path: string, key: Uint8Array): Buffer | undefined {
  const m = BpfMap.openPinned(path);
  try {
    return m.lookup(key);
  } finally {
    m.close();
  }
}

describeBpf('KernelBlockSink over the default BPF filter', () => {
  let root: string;
  let dir: string;
  let warnings: string[];
  let registry: DefaultBpfFilterRegistry;
  let filter: BPFFilter;
  const open = (sizes: number | Parameters<typeof pinnedExternalOptions>[1] = 64) => {
    filter = new BPFFilter(pinnedExternalOptions(dir, sizes));
    registry = new DefaultBpfFilterRegistry({ warn: (l) => warnings.push(l) });
    registry.set(filter);
    return registry.sink!;
  };
  const closeAll = () => {
    registry?.close();
    filter?.close();
  };

  beforeEach(() => {
    root = `/sys/fs/bpf/${uniqueName('dtsk')}`;
    dir = `${root}/dnsdist`;
    warnings = [];
    // The XDP filter's loader creates the suffix map (and name index) beside the filter's maps.
    XdpFilter.load({ pinDir: dir, maxEntries: 64 }).close();
  });
  afterEach(() => {
    closeAll();
    rmSync(root, { recursive: true, force: true });
  });

  it("writes address, range and suffix blocks in dnsdist's layouts with the right actions, and records their deadlines", () => {
    const sink = open();
    const t0 = nowNs();
    const until = performance.now() + 60_000;
    const blocks: KernelBlock[] = [
      { kind: 'address', address: v4('192.0.2.1'), action: 'drop', until },
      { kind: 'address', address: v6db8(1), action: 'truncate', until },
      { kind: 'address', address: v4('192.0.2.3'), action: 'pass', until },
      { kind: 'range', network: v4('10.1.2.0'), prefix: 24, action: 'truncate', until },
      { kind: 'range', network: v6db8(0), prefix: 32, action: 'drop', until },
      { kind: 'suffix', name: DNSName.fromString('Evil.Test'), action: 'drop', until },
    ];
    for (const b of blocks) {
      expect(sink.supports(b.kind, b.action)).toBe(true);
      expect(sink.insert(b)).toBe(true);
    }
    const deadline = monotonicNsFromPerformance(until);
    const check = (map: string, key: Uint8Array, action: number) => {
      expect(raw(`${dir}/${map}`, key)?.[8]).toBe(action);
      expect(raw(`${dir}/${map}-expiry`, key)?.readBigUInt64LE(0)).toBe(deadline);
    };
    check('addr-v4', ipv4Key(v4('192.0.2.1')), 1);
    check('addr-v6', ipv6Key(v6db8(1)), 2);
    check('addr-v4', ipv4Key(v4('192.0.2.3')), 0);
    check('cidr4', cidrKey(v4('10.1.2.0'), 24), 2);
    check('cidr6', cidrKey(v6db8(0), 32), 1);
    check('suffixes', suffixKey(DNSName.fromString('evil.test').toWire()), 1);
    // The deadline is on CLOCK_MONOTONIC, which other processes read: within a millisecond of a minute from then.
    expect(Number(deadline - t0) / 1e9).toBeCloseTo(60, 2);

    // Hits are the map counters, which the kernel programs increment.
    const m = BpfMap.openPinned(`${dir}/addr-v4`);
    const v = m.lookup(ipv4Key(v4('192.0.2.1')))!;
    // Above 2^32 first: the counter is a u64 and both halves count.
    v.writeBigUInt64LE(2n ** 32n + 9n, 0);
    m.update(ipv4Key(v4('192.0.2.1')), v);
    expect(sink.hits(blocks[0]!)).toBe(2 ** 32 + 9);
    v.writeBigUInt64LE(7n, 0);
    m.update(ipv4Key(v4('192.0.2.1')), v);
    m.close();
    expect(sink.hits(blocks[0]!)).toBe(7);
    expect(sink.hits(blocks[5]!)).toBe(0);

    // Refreshing keeps the counter and moves the deadline.
    expect(sink.insert({ ...blocks[0]!, until: until + 5000 } as KernelBlock)).toBe(true);
    expect(sink.hits(blocks[0]!)).toBe(7);
    expect(raw(`${dir}/addr-v4-expiry`, ipv4Key(v4('192.0.2.1')))?.readBigUInt64LE(0)).toBe(monotonicNsFromPerformance(until + 5000));

    for (const b of blocks) sink.remove(b);
    expect(filter.entries()).toEqual([]);
    const suffixes = SuffixMap.openPinned(`${dir}/suffixes`);
    expect(suffixes.entries()).toEqual([]);
    suffixes.close();
    expect(raw(`${dir}/addr-v4-expiry`, ipv4Key(v4('192.0.2.1')))).toBeUndefined();
    expect(raw(`${dir}/suffixes-expiry`, suffixKey(DNSName.fromString('evil.test').toWire()))).toBeUndefined();
    // Removing again, or something never inserted, is not an error.
    for (const b of blocks) sink.remove(b);
    expect(registry.kernelInsertFailures).toBe(0);
    expect(warnings).toEqual([]);
  });

  it('leaves permanent entries (manual bpf:block) alone: never retimed, never removed', () => {
    const sink = open();
    filter.block('192.0.2.77', 1);
    const until = performance.now() + 60_000;
    const drop: KernelBlock = { kind: 'address', address: v4('192.0.2.77'), action: 'drop', until };
    // Same action: the kernel already enforces it.
    expect(sink.insert(drop)).toBe(true);
    expect(raw(`${dir}/addr-v4-expiry`, ipv4Key(v4('192.0.2.77')))).toBeUndefined();
    // Another action: refused, counted, logged once.
    expect(sink.insert({ ...drop, action: 'truncate' })).toBe(false);
    expect(sink.insert({ ...drop, action: 'truncate' })).toBe(false);
    expect(registry.failures.count('permanent-entry')).toBe(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/Unable to insert eBPF dynamic block for 192\.0\.2\.77.*permanent entry with action Drop/);
    sink.remove(drop);
    expect(filter.isBlocked('192.0.2.77')).toBe(true);
  });

  it('refuses what the format or the maps cannot hold, logging each reason once and counting every refusal', () => {
    const sink = open({ ipv4: 2, ipv6: 4, qnames: 4, cidr4: 4, cidr6: 4 });
    const until = performance.now() + 60_000;
    const addr = (i: number): KernelBlock => ({ kind: 'address', address: v4(`192.0.2.${i}`), action: 'drop', until });
    expect(sink.insert(addr(1))).toBe(true);
    expect(sink.insert(addr(2))).toBe(true);
    expect(sink.insert(addr(3))).toBe(false);
    expect(sink.insert(addr(4))).toBe(false);
    expect(registry.failures.count('table-full')).toBe(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('Table full when trying to block 192.0.2.3');
    // The userspace block applies regardless; the sink still takes the others.
    expect(sink.insert(addr(1))).toBe(true);
    closeAll();

    // Legacy format: Drop only, no ranges, no suffixes.
    filter = BPFFilter.fromArgs([8, 8, 8]);
    registry = new DefaultBpfFilterRegistry({ warn: (l) => warnings.push(l) });
    registry.set(filter);
    const legacy = registry.sink!;
    expect(legacy.supports('address', 'drop')).toBe(true);
    expect(legacy.supports('address', 'truncate')).toBe(false);
    expect(legacy.supports('range', 'drop')).toBe(false);
    expect(legacy.supports('suffix', 'drop')).toBe(false);
    expect(legacy.insert({ kind: 'address', address: v4('192.0.2.9'), action: 'truncate', until })).toBe(false);
    expect(legacy.insert({ kind: 'range', network: v4('10.0.0.0'), prefix: 8, action: 'drop', until })).toBe(false);
    expect(legacy.insert({ kind: 'address', address: v4('192.0.2.9'), action: 'drop', until })).toBe(true);
    expect(registry.failures.count('unsupported')).toBe(2);
    expect(warnings.filter((w) => w.includes("reason 'unsupported'"))).toHaveLength(1);
    expect(warnings.at(-1)).toContain('legacy format');
  });

  it('says which map is missing: cidr maps not configured, suffix map not created yet', () => {
    rmSync(root, { recursive: true, force: true });
    filter = new BPFFilter({
      external: true,
      maps: {
        ipv4: { maxItems: 8, pinnedPath: `${dir}/addr-v4` },
        ipv6: { maxItems: 8, pinnedPath: `${dir}/addr-v6` },
        qnames: { maxItems: 8, pinnedPath: `${dir}/qnames` },
      },
    });
    registry = new DefaultBpfFilterRegistry({ warn: (l) => warnings.push(l) });
    registry.set(filter);
    const sink = registry.sink!;
    const until = performance.now() + 1000;
    expect(sink.supports('range', 'drop')).toBe(false);
    expect(sink.supports('suffix', 'drop')).toBe(false);
    expect(sink.insert({ kind: 'suffix', name: DNSName.fromString('x.test'), action: 'drop', until })).toBe(false);
    expect(warnings[0]).toContain(`no suffix map at ${dir}/suffixes: attachXDPFilter`);
    // Once the XDP filter's loader has created it, suffixes go in.
    XdpFilter.load({ pinDir: dir, maxEntries: 8 }).close();
    expect(sink.insert({ kind: 'suffix', name: DNSName.fromString('x.test'), action: 'drop', until })).toBe(true);
    // The loader pinned cidr maps too, but this filter was not configured with them.
    expect(sink.insert({ kind: 'range', network: v4('10.0.0.0'), prefix: 8, action: 'drop', until })).toBe(false);
    expect(registry.failures.count('missing-map')).toBe(2);
  });

  it('a restart inherits live blocks with their remaining time and finds lapsed ones gone', async () => {
    let sink = open();
    const now = performance.now();
    const long: KernelBlock = { kind: 'address', address: v4('192.0.2.10'), action: 'truncate', until: now + 60_000 };
    const short: KernelBlock = { kind: 'address', address: v4('192.0.2.11'), action: 'drop', until: now + 300 };
    const range: KernelBlock = { kind: 'range', network: v4('10.9.0.0'), prefix: 16, action: 'drop', until: now + 60_000 };
    const suffix: KernelBlock = { kind: 'suffix', name: DNSName.fromString('bad.test'), action: 'truncate', until: now + 60_000 };
    const shortSuffix: KernelBlock = { kind: 'suffix', name: DNSName.fromString('gone.test'), action: 'drop', until: now + 300 };
    for (const b of [long, short, range, suffix, shortSuffix]) expect(sink.insert(b)).toBe(true);
    filter.block('192.0.2.12'); // manual: permanent
    closeAll();

    await waitFor('the short blocks to lapse', () => performance.now() > now + 350, 2000);

    sink = open();
    expect(
      filter
        .entries()
        .map((e) => ('address' in e ? e.address : 'range' in e ? e.range : e.name))
        .sort(),
    ).toEqual(['10.9.0.0/16', '192.0.2.10', '192.0.2.12']);
    const suffixes = SuffixMap.openPinned(`${dir}/suffixes`);
    expect(suffixes.entries().map((e) => e.name)).toEqual(['bad.test.']);
    suffixes.close();
    const inherited = sink.liveBlocks();
    expect(inherited.map((b) => b.kind).sort()).toEqual(['address', 'range', 'suffix']);
    for (const b of inherited) expect(b.until).toBeCloseTo(now + 60_000, -1);
    expect(inherited.find((b) => b.kind === 'address')).toMatchObject({ address: v4('192.0.2.10'), action: 'truncate' });
    // Inherited blocks are the sink's: removed at their end, unlike the manual entry.
    for (const b of inherited) sink.remove(b);
    expect(filter.entries().map((e) => ('address' in e ? e.address : ''))).toEqual(['192.0.2.12']);
  });

  it('purgeExpired removes lapsed entries from every map within its call, whoever forgot them', async () => {
    const sink = open();
    const until = performance.now() + 200;
    sink.insert({ kind: 'address', address: v4('192.0.2.20'), action: 'drop', until });
    sink.insert({ kind: 'suffix', name: DNSName.fromString('soon.test'), action: 'drop', until });
    sink.insert({ kind: 'range', network: v4('10.20.0.0'), prefix: 16, action: 'drop', until: until + 60_000 });
    expect(sink.purgeExpired()).toBe(0);
    await waitFor('the deadline', () => performance.now() > until, 2000);
    expect(sink.purgeExpired()).toBe(2);
    expect(filter.entries().map((e) => ('range' in e ? e.range : ''))).toEqual(['10.20.0.0/16']);
  });

  it('tells listeners about the default filter, at once and on every change', () => {
    const sink = open();
    const seen: unknown[] = [];
    const off = registry.onChange((s) => seen.push(s));
    registry.set(undefined);
    off();
    registry.set(filter);
    expect(seen).toEqual([sink, undefined]);
  });
});
