/**
 * Pure logic: the fleet record's checks and setDynBlocksSync's options.
 * What arrives from the bus is untrusted; these are the refusals.
 */
import { BlockScopeGuard } from '@dnsdist-ts/dynblocks/dynblocks/block-scope-guard.js';
import { decodeFleetRecord, FleetRecordError, parseClientRange } from '@dnsdist-ts/integrations/fleet/fleet-block-record.js';
import { FleetOptionError, fleetSyncOptions } from '@dnsdist-ts/integrations/fleet/fleet-sync-options.js';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';

const guard = new BlockScopeGuard();
const rec = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  v: 1,
  kind: 'net',
  key: '192.0.2.1/32',
  action: 'Drop',
  reason: 'flood',
  origin: 'node-a',
  ...over,
});

function refusal(json: unknown, ttl: unknown = 10_000, maxSeconds = 3600): string {
  try {
    decodeFleetRecord(json, ttl, maxSeconds, guard);
  } catch (err) {
    expect(err).toBeInstanceOf(FleetRecordError);
    return (err as FleetRecordError).reason;
  }
  throw new Error('accepted');
}

describe('fleet block records', () => {
  it('accepts addresses, ranges, port ranges and suffixes, as JSON text or objects', () => {
    const a = decodeFleetRecord(JSON.stringify(rec()), 5000, 3600, guard);
    expect(a.range?.toString()).toBe('192.0.2.1/32');
    expect(a.action).toBe(DNSAction.Drop);
    expect(a.ttlMs).toBe(5000);
    expect(decodeFleetRecord(rec({ key: '2001:db8::/48', action: 'Truncate' }), 1, 1, guard).range?.toString()).toBe('2001:db8::/48');
    expect(parseClientRange('192.0.2.1:32768/2').toString()).toBe('192.0.2.1:32768/2');
    const s = decodeFleetRecord(rec({ kind: 'suffix', key: 'Bad.Example.', action: 'Refused' }), 1, 1, guard);
    expect(s.name?.toString()).toBe('bad.example.');
  });

  it('refuses malformed records, unknown versions, actions and kinds', () => {
    expect(refusal('{not json')).toBe('malformed');
    expect(refusal('[1,2]')).toBe('malformed');
    expect(refusal(rec({ v: 2 }))).toBe('version');
    expect(refusal(rec({ action: 'Allow' }))).toBe('action');
    expect(refusal(rec({ action: 'SetTag' }))).toBe('action');
    expect(refusal(rec({ kind: 'name' }))).toBe('malformed');
    expect(refusal(rec({ key: 42 }))).toBe('malformed');
    expect(refusal(rec({ origin: 'a b' }))).toBe('malformed');
    expect(refusal(rec({ reason: 'x'.repeat(300) }))).toBe('reason');
  });

  it('refuses keys that are not canonical ranges', () => {
    expect(refusal(rec({ key: '192.0.2.1' }))).toBe('key');
    expect(refusal(rec({ key: '192.0.2.1/24' }))).toBe('key'); // host bits set
    expect(refusal(rec({ key: '300.0.0.1/32' }))).toBe('key');
    expect(refusal(rec({ key: '192.0.2.1:70000/2' }))).toBe('key');
  });

  it('refuses absurd durations and wider ranges than the scope guard allows', () => {
    expect(refusal(rec(), 0)).toBe('duration');
    expect(refusal(rec(), -5)).toBe('duration');
    expect(refusal(rec(), 'soon')).toBe('duration');
    expect(refusal(rec(), 3601 * 1000)).toBe('duration');
    expect(refusal(rec({ key: '10.0.0.0/7' }))).toBe('scope');
    expect(refusal(rec({ key: '0.0.0.0/0' }))).toBe('scope');
    expect(refusal(rec({ key: '2001::/16' }))).toBe('scope');
    expect(refusal(rec({ kind: 'suffix', key: '.' }))).toBe('scope');
  });
});

describe('setDynBlocksSync options', () => {
  it('fills in the defaults', () => {
    const o = fleetSyncOptions({ url: 'redis://127.0.0.1:6379', fleet: 'prod', node: 'pop1' });
    expect([...o.share]).toEqual(['rules', 'lua', 'api']);
    expect(o.maxSeconds).toBe(86400);
    expect(o.propagateClear).toBe(true);
    expect(o.warnings).toBe(false);
  });

  it.each([
    [{ fleet: 'prod' }, 'url'],
    [{ url: 'http://x', fleet: 'prod' }, 'url'],
    [{ url: 'not a url', fleet: 'prod' }, 'url'],
    [{ url: 'redis://x' }, 'fleet'],
    [{ url: 'redis://x', fleet: 'a b' }, 'fleet'],
    [{ url: 'redis://x', fleet: 'f', node: 'n/1' }, 'node'],
    [{ url: 'redis://x', fleet: 'f', share: ['rules', 'everything'] }, 'share'],
    [{ url: 'redis://x', fleet: 'f', maxSeconds: 0 }, 'maxSeconds'],
    [{ url: 'redis://x', fleet: 'f', actions: ['Drop', 'Allow'] }, 'actions'],
    [{ url: 'redis://x', fleet: 'f', tls: { caFile: '/x' } }, 'tls'],
  ])('refuses %j naming option %s', (input, option) => {
    try {
      fleetSyncOptions(input);
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(FleetOptionError);
      expect((err as FleetOptionError).option).toBe(option);
      expect((err as Error).message).toContain(`setDynBlocksSync: option '${option}'`);
    }
  });
});
