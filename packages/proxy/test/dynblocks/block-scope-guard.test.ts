/**
 * The block scope guard on its own: which ranges and suffixes it lets
 * through under the default and operator-set limits.
 */
import { DNSName, parseAddress } from '@dnsdist-ts/dns';
import { BlockScopeError, BlockScopeGuard, ClientBlockRange, DEFAULT_BLOCK_SCOPE_LIMITS } from '@dnsdist-ts/dynblocks/dynblocks/index.js';

const v4 = (a: string, bits: number, portBits = 0) => ClientBlockRange.of(parseAddress(a).bytes, 0, bits, 128, portBits);
const v6 = (a: string, bits: number) => ClientBlockRange.of(parseAddress(a).bytes, 0, 32, bits);

function refusal(fn: () => void): BlockScopeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof BlockScopeError) return err;
    throw err;
  }
  throw new Error('expected a BlockScopeError');
}

describe('BlockScopeGuard', () => {
  it('defaults to /8 and /32 and no root suffix', () => {
    expect(new BlockScopeGuard().limits).toEqual(DEFAULT_BLOCK_SCOPE_LIMITS);
    expect(DEFAULT_BLOCK_SCOPE_LIMITS).toEqual({ v4: 8, v6: 32, allowRootSuffix: false });
  });

  it('lets through ranges at or narrower than the limit, single addresses and port ranges', () => {
    const g = new BlockScopeGuard();
    for (const r of [v4('10.0.0.0', 8), v4('192.0.2.1', 32), v4('192.0.2.1', 32, 4), v6('2001:db8::', 32), v6('2001:db8::1', 128)]) {
      expect(() => g.checkRange(r, 'test')).not.toThrow();
    }
    expect(() => g.checkSuffix(DNSName.fromString('example.'), 'test')).not.toThrow();
    expect(() => g.checkSuffix(DNSName.fromString('com.'), 'test')).not.toThrow();
  });

  it('refuses wider ranges and the root suffix, naming the input, the source and the setting', () => {
    const g = new BlockScopeGuard();
    const all = refusal(() => g.checkRange(v4('0.0.0.0', 0), 'the fleet bus'));
    expect(all).toMatchObject({ input: '0.0.0.0/0', source: 'the fleet bus', setting: 'setDynBlocksRangeLimits' });
    expect(all.message).toBe(
      'the fleet bus: refusing to block 0.0.0.0/0, which is every client (the operator included): the widest IPv4 range ' +
        'accepted here is /8; block a narrower range, or lower the limit with setDynBlocksRangeLimits{v4=0}',
    );
    expect(refusal(() => g.checkRange(v4('10.0.0.0', 7), 'x')).input).toBe('10.0.0.0/7');
    expect(refusal(() => g.checkRange(v6('::', 0), 'x')).input).toBe('::/0');
    expect(refusal(() => g.checkRange(v6('2001:db8::', 31), 'x')).message).toContain('setDynBlocksRangeLimits{v6=31}');
    const root = refusal(() => g.checkSuffix(DNSName.fromString('.'), 'x'));
    expect(root).toMatchObject({ input: '.' });
    expect(root.message).toContain('setDynBlocksRangeLimits{allowRootSuffix=true}');
  });

  it('follows the operator limits, and refuses limits outside 0-32 / 0-128', () => {
    const g = new BlockScopeGuard();
    g.limits = { v4: 0, v6: 0, allowRootSuffix: true };
    expect(() => g.checkRange(v4('0.0.0.0', 0), 'x')).not.toThrow();
    expect(() => g.checkRange(v6('::', 0), 'x')).not.toThrow();
    expect(() => g.checkSuffix(DNSName.fromString('.'), 'x')).not.toThrow();
    g.limits = { v4: 24, v6: 64, allowRootSuffix: false };
    expect(() => g.checkRange(v4('10.0.0.0', 16), 'x')).toThrow(BlockScopeError);
    expect(() => (g.limits = { v4: 33, v6: 64, allowRootSuffix: false })).toThrow(/v4 must be a prefix length from 0 to 32, got 33/);
    expect(() => (g.limits = { v4: 8, v6: -1, allowRootSuffix: false })).toThrow(/v6 must be a prefix length from 0 to 128/);
    expect(g.limits).toEqual({ v4: 24, v6: 64, allowRootSuffix: false });
  });
});
