import { rmSync, existsSync } from 'node:fs';
import { BPFFilter } from '../src/bpf-filter.js';
import { DynBPFFilter } from '../src/dyn-bpf-filter.js';
import { MatchAction } from '../src/match-action.js';
import { nowNs, secondsFromNow } from '../src/monotonic-clock.js';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';

describeBpf('expiring blocks across restarts (no stale kernel blocks)', () => {
  let dir: string;
  const open = (ipv4MaxItems = 16) =>
    BPFFilter.fromArgs([
      {
        ipv4MaxItems,
        ipv4PinnedPath: `${dir}/addr-v4`,
        ipv6MaxItems: 16,
        ipv6PinnedPath: `${dir}/addr-v6`,
        qnamesMaxItems: 16,
        qnamesPinnedPath: `${dir}/qnames`,
        cidr4MaxItems: 16,
        cidr4PinnedPath: `${dir}/cidr4`,
        external: true,
      },
    ]);
  beforeEach(() => {
    dir = `/sys/fs/bpf/${uniqueName('dtse')}/dnsdist`;
  });
  afterEach(() => rmSync(dir.replace(/\/dnsdist$/, ''), { recursive: true, force: true }));

  it('on open, entries that lapsed while no process ran are removed; live ones keep their expiry; manual ones stay', () => {
    const a = open();
    const now = nowNs();
    const later = secondsFromNow(60, now);
    a.block('192.0.2.1', MatchAction.Drop, { until: later });
    a.block('192.0.2.2', MatchAction.Truncate, { until: now - 1n });
    a.block('192.0.2.3');
    a.blockQName('gone.example', 1, MatchAction.Drop, { until: now - 1n });
    a.addRangeRule('198.51.100.0/24', MatchAction.Drop, false, { until: later });
    a.close();
    expect(existsSync(`${dir}/addr-v4-expiry`)).toBe(true);

    const b = open();
    try {
      const live = b.entries().map((e) => ('address' in e ? e.address : 'range' in e ? e.range : e.name));
      expect(live.sort()).toEqual(['192.0.2.1', '192.0.2.3', '198.51.100.0/24']);
      expect(b.expiringEntries().map((e) => ['address' in e ? e.address : 'range' in e ? e.range : e.name, e.until])).toEqual(
        expect.arrayContaining([
          ['192.0.2.1', later],
          ['198.51.100.0/24', later],
        ]),
      );
      expect(b.expiringEntries()).toHaveLength(2);
      // A manual block of a timed address makes it permanent.
      b.block('192.0.2.1');
      expect(b.expiringEntries()).toHaveLength(1);
      expect(b.purgeExpired(secondsFromNow(120))).toBe(1);
      expect(
        b
          .entries()
          .map((e) => ('address' in e ? e.address : ''))
          .sort(),
      ).toEqual(['192.0.2.1', '192.0.2.3']);
    } finally {
      b.close();
    }
  });

  it('unblocking a timed entry removes its expiry record with it', () => {
    const f = open();
    try {
      f.block('192.0.2.20', MatchAction.Drop, { until: secondsFromNow(60) });
      expect(f.expiringEntries()).toHaveLength(1);
      f.unblock('192.0.2.20');
      // Blocked again without an expiry, it must be permanent, not timed by a leftover record.
      f.block('192.0.2.20');
      expect(f.expiringEntries()).toHaveLength(0);
      expect(f.purgeExpired(secondsFromNow(120))).toBe(0);
      expect(f.isBlocked('192.0.2.20')).toBe(true);
    } finally {
      f.close();
    }
  });

  it('a purge reads only the lapsed entries, not the 4,000 still in force (counts calls on the map)', () => {
    const f = open(5000);
    try {
      const now = nowNs();
      for (let i = 0; i < 4000; i++) f.block(`10.0.${i >> 8}.${i & 255}`, MatchAction.Drop, { until: secondsFromNow(600, now) });
      f.block('192.0.2.1', MatchAction.Drop, { until: secondsFromNow(1, now) });
      f.block('192.0.2.2', MatchAction.Drop, { until: secondsFromNow(2, now) });
      const map = f.map('ipv4')!;
      let calls = 0;
      for (const m of ['lookupInto', 'delete', 'dump', 'dumpRaw'] as const) {
        const original = map[m].bind(map) as (...a: unknown[]) => unknown;
        (map as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
          calls++;
          return original(...a);
        };
      }
      expect(f.purgeExpired(secondsFromNow(3, now))).toBe(2);
      expect(calls).toBe(2);
      expect(f.isBlocked('192.0.2.1')).toBe(false);
      calls = 0;
      expect(f.purgeExpired(secondsFromNow(4, now))).toBe(0);
      expect(calls).toBe(0);
      expect(f.expiringEntries()).toHaveLength(4000);
    } finally {
      f.close();
    }
  });

  it('a deadline another process moved is honoured by the purge', () => {
    const a = open();
    const b = open();
    try {
      const now = nowNs();
      a.block('192.0.2.30', MatchAction.Drop, { until: secondsFromNow(1, now) });
      // The other process extends it (as a second proxy on the same pins would).
      b.block('192.0.2.30', MatchAction.Drop, { until: secondsFromNow(60, now) });
      expect(a.purgeExpired(secondsFromNow(2, now))).toBe(0);
      expect(a.isBlocked('192.0.2.30')).toBe(true);
      expect(a.purgeExpired(secondsFromNow(61, now))).toBe(1);
      expect(a.isBlocked('192.0.2.30')).toBe(false);
    } finally {
      a.close();
      b.close();
    }
  });

  it('DynBPFFilter: block with expiry, extend, exclusions, purge, and take-over by a restarted process', () => {
    const f = open();
    const d = new DynBPFFilter(f);
    const t0 = nowNs();
    expect(d.block('192.0.2.10', 30, t0)).toBe(true);
    expect(d.block('192.0.2.10', 10, t0)).toBe(false);
    expect(d.block('192.0.2.10', 60, t0)).toBe(false);
    d.excludeRange(['192.0.2.0/24']);
    d.includeRange('192.0.2.128/25');
    expect(d.block('192.0.2.11', 30, t0)).toBe(false);
    expect(d.block('192.0.2.200', 5, t0)).toBe(true);
    expect(f.isBlocked('192.0.2.11')).toBe(false);
    expect(d.getAddrStats(t0).sort((a, b) => a.address.localeCompare(b.address))).toEqual([
      { address: '192.0.2.10', blocks: 0n, seconds: 60 },
      { address: '192.0.2.200', blocks: 0n, seconds: 5 },
    ]);
    d.purgeExpired(secondsFromNow(6, t0));
    expect(f.isBlocked('192.0.2.200')).toBe(false);
    expect(f.isBlocked('192.0.2.10')).toBe(true);
    f.close();

    // A new process: the block is taken over with its remaining time.
    const g = open();
    try {
      const e = new DynBPFFilter(g);
      expect(e.getAddrStats(secondsFromNow(20, t0))).toEqual([{ address: '192.0.2.10', blocks: 0n, seconds: 40 }]);
      expect(e.block('192.0.2.10', 5, t0)).toBe(false);
      e.purgeExpired(secondsFromNow(61, t0));
      expect(g.isBlocked('192.0.2.10')).toBe(false);
    } finally {
      g.close();
    }
    // And a process started after expiry finds a clean map.
    const h = open();
    expect(h.entries()).toEqual([]);
    h.close();
  });
});
