import { existsSync, readdirSync, rmSync } from 'node:fs';
import { BpfMap } from '@dnsdist-ts/bpf';
import { BPFFilter } from '../src/bpf-filter.js';
import { MatchAction } from '../src/match-action.js';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describeBpf('BPFFilter on kernel maps', () => {
  const dir = `/sys/fs/bpf/${uniqueName('dtsf')}`;
  const external = (extra: Record<string, unknown> = {}) =>
    BPFFilter.fromArgs([
      {
        ipv4MaxItems: 4,
        ipv4PinnedPath: `${dir}/dnsdist/addr-v4`,
        ipv6MaxItems: 4,
        ipv6PinnedPath: `${dir}/dnsdist/addr-v6`,
        qnamesMaxItems: 4,
        qnamesPinnedPath: `${dir}/dnsdist/qnames`,
        cidr4MaxItems: 4,
        cidr4PinnedPath: `${dir}/dnsdist/cidr4`,
        cidr6MaxItems: 4,
        cidr6PinnedPath: `${dir}/dnsdist/cidr6`,
        external: true,
        ...extra,
      },
    ]);
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('external: blocks land in the maps in dnsdist byte layouts, with actions', () => {
    const f = external();
    try {
      f.block('192.0.2.1');
      f.block('2001:db8::1', MatchAction.Truncate);
      f.blockQName('Evil.Example.COM', 1, MatchAction.Truncate);
      f.blockQName('any.example');
      const v4 = BpfMap.openPinned(`${dir}/dnsdist/addr-v4`);
      expect(v4.dump().map(([k, v]) => [hex(k), hex(v.subarray(0, 9))])).toEqual([['010200c0', '000000000000000001']]);
      v4.close();
      const qn = BpfMap.openPinned(`${dir}/dnsdist/qnames`);
      const keys = qn.dump().map(([k, v]) => [hex(k.subarray(0, 18)), hex(k.subarray(255)), v[8]]);
      expect(keys).toContainEqual(['046576696c076578616d706c6503636f6d00', '000100', 2]);
      expect(keys).toContainEqual([expect.stringMatching(/^03616e79076578616d706c6500/), '00ff00', 1]);
      qn.close();
      expect(f.entries()).toEqual(
        expect.arrayContaining([
          { kind: 'ipv4', address: '192.0.2.1', action: 1, counter: 0n },
          { kind: 'ipv6', address: '2001:db8::1', action: 2, counter: 0n },
          { kind: 'qname', name: 'evil.example.com.', qtype: 1, action: 2, counter: 0n },
          { kind: 'qname', name: 'any.example.', qtype: 255, action: 1, counter: 0n },
        ]),
      );
      const stats = f.getStats();
      expect(stats).toContain('192.0.2.1: 0\n');
      expect(stats).toContain('[2001:db8::1]: 0\n');
      expect(stats).toContain('evil.example.com. A: 0\n');
      expect(stats).toContain('any.example. ANY: 0\n');
    } finally {
      f.close();
    }
  });

  it("dnsdist's error texts, soft cap, and refresh instead of 'already blocked'", () => {
    const f = external();
    try {
      expect(() => f.unblock('192.0.2.9')).toThrow('Error removing blocked address 192.0.2.9: No such file or directory');
      expect(() => f.unblockQName('nothing.example')).toThrow('Error removing qname address nothing.example: No such file or directory');
      expect(() => f.block('192.0.2.1', 3)).toThrow('Unsupported action for BPFFilter::block');
      expect(() => f.blockQName('x.example', 1, 7)).toThrow('Unsupported action for BPFFilter::blockQName');
      expect(() => f.blockQName('a'.repeat(64) + '.example')).toThrow();
      for (const a of ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']) f.block(a);
      expect(() => f.block('192.0.2.5')).toThrow('Table full when trying to block 192.0.2.5');
      // Re-blocking refreshes: action changes, counter stays, no error.
      const v4 = f.map('ipv4')!;
      const key = Buffer.from('010200c0', 'hex');
      const v = v4.lookup(key)!;
      v.writeBigUInt64LE(42n, 0);
      v4.update(key, v);
      f.block('192.0.2.1', MatchAction.Truncate);
      expect(f.entries()).toContainEqual({ kind: 'ipv4', address: '192.0.2.1', action: 2, counter: 42n });
      f.unblock('192.0.2.1');
      f.block('192.0.2.5');
      expect(f.isBlocked('192.0.2.5')).toBe(true);
    } finally {
      f.close();
    }
  });

  it('range rules in the LPM maps: add, refuse useless ones unless forced, list, remove', () => {
    const f = external();
    try {
      f.addRangeRule('192.0.2.77/24', MatchAction.Drop);
      f.addRangeRule('2001:db8::/32', MatchAction.Truncate);
      expect(() => f.addRangeRule('192.0.2.0/24', MatchAction.Drop)).toThrow(/already has action Drop/);
      f.addRangeRule('192.0.2.0/24', MatchAction.Drop, true);
      expect(() => f.addRangeRule('198.51.100.0/24', MatchAction.Pass)).toThrow(/useless/);
      f.addRangeRule('192.0.2.128/25', MatchAction.Pass);
      expect(f.lsRangeRule()).toBe('Drop\t 192.0.2.0/24\nPass\t 192.0.2.128/25\nTruncate\t[2001:db8::/32]\n');
      const c4 = BpfMap.openPinned(`${dir}/dnsdist/cidr4`);
      expect(hex(c4.lookup(Buffer.from('20000000c0000205', 'hex'))!.subarray(8, 9))).toBe('01');
      expect(hex(c4.lookup(Buffer.from('20000000c00002f0', 'hex'))!.subarray(8, 9))).toBe('00');
      c4.close();
      f.rmRangeRule('192.0.2.0/24');
      expect(() => f.rmRangeRule('192.0.2.0/24')).toThrow("Cannot remove '192.0.2.0/24': No such rule");
      expect(f.getStats()).toContain('Truncate\t 2001:db8::/32: 0\n');
    } finally {
      f.close();
    }
  });

  it('pinned maps survive the filter: a new filter on the same paths inherits the entries', () => {
    const a = external();
    a.block('198.51.100.7', MatchAction.Truncate);
    a.blockQName('kept.example', 16);
    a.close();
    const b = external();
    try {
      expect(b.entries()).toEqual(
        expect.arrayContaining([
          { kind: 'ipv4', address: '198.51.100.7', action: 2, counter: 0n },
          { kind: 'qname', name: 'kept.example.', qtype: 16, action: 1, counter: 0n },
        ]),
      );
    } finally {
      b.close();
    }
  });

  it('a pinned map in the other format is a clear error naming the path and the fix', () => {
    const legacy = BPFFilter.fromArgs([{ maxItems: 4, pinnedPath: `${dir}/dnsdist/addr-v4` }, 4, 4]);
    legacy.block('192.0.2.1');
    legacy.close();
    let msg = '';
    try {
      external().close();
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain(`${dir}/dnsdist/addr-v4`);
    expect(msg).toContain('value 8 B');
    expect(msg).toContain('value 16 B');
    expect(msg).toContain('it is in the legacy format: set external=false');
    // Nothing was removed: the legacy map still holds its entry.
    const still = BpfMap.openPinned(`${dir}/dnsdist/addr-v4`);
    expect(still.count()).toBe(1);
    still.close();
  });

  it('a filter that cannot open one of its maps leaves no pin or directory of its own, and the maps it found intact', () => {
    // addr-v6 pre-exists in the legacy layout; addr-v4 (checked first) and its directory are new.
    const legacy = BPFFilter.fromArgs([4, { maxItems: 4, pinnedPath: `${dir}/old/addr-v6` }, 4]);
    legacy.block('2001:db8::1');
    legacy.close();
    const before = BpfMap.openPinned(`${dir}/old/addr-v6`);
    const id = before.info().id;
    before.close();
    const opts = (v4: string) => [
      { maxItems: 4, pinnedPath: v4 },
      { maxItems: 4, pinnedPath: `${dir}/old/addr-v6` },
      { maxItems: 4, pinnedPath: `${dir}/new/qnames` },
      true,
    ];
    expect(() => BPFFilter.fromArgs(opts(`${dir}/new/addr-v4`))).toThrow(`Error checking the eBPF map pinned at ${dir}/old/addr-v6`);
    expect(existsSync(`${dir}/new`)).toBe(false);
    expect(() => BPFFilter.fromArgs(opts(`${dir}/old/addr-v4`))).toThrow(/value 8 B/);
    expect(readdirSync(`${dir}/old`).sort()).toEqual(['addr-v6', 'addr-v6-expiry']);
    const after = BpfMap.openPinned(`${dir}/old/addr-v6`);
    expect([after.info().id, after.count()]).toEqual([id, 1]);
    after.close();
  });

  it('legacy format: Drop only, qtype kept in the value, range rules refused', () => {
    const f = BPFFilter.fromArgs([4, 4, 4]);
    try {
      expect(() => f.block('192.0.2.1', MatchAction.Truncate)).toThrow('Unsupported action for BPFFilter::block');
      f.block('192.0.2.1');
      f.blockQName('Legacy.Example', 16);
      const qn = f.map('qnames')!;
      const [[k, v]] = qn.dump() as [[Buffer, Buffer]];
      expect(k.length).toBe(255);
      expect(hex(k.subarray(0, 16))).toBe('066c6567616379076578616d706c6500');
      expect(v.readUInt16LE(8)).toBe(16);
      expect(() => f.unblockQName('legacy.example', 1)).toThrow(/No such file or directory/);
      f.unblockQName('legacy.example', 16);
      expect(() => f.addRangeRule('10.0.0.0/8', 1)).toThrow(/unsupported map type/);
    } finally {
      f.close();
    }
  });
});
