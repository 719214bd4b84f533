/**
 * Pure logic: setCrowdSecBouncer's options and the checks a decision from
 * the Local API goes through (no Local API needed).
 */
import { BlockScopeGuard } from '@dnsdist-ts/dynblocks/dynblocks/block-scope-guard.js';
import { crowdSecBouncerOptions, DEFAULT_DECISION_ACTIONS } from '@dnsdist-ts/integrations/crowdsec/crowdsec-bouncer-options.js';
import { checkDecision, DecisionError, parseGoDuration } from '@dnsdist-ts/integrations/crowdsec/crowdsec-decision.js';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';

const guard = new BlockScopeGuard();
const check = (d: Record<string, unknown>, deleted = false) => checkDecision(d, deleted, DEFAULT_DECISION_ACTIONS, 86400, guard);
const base = {
  id: 7,
  scope: 'Ip',
  value: '192.0.2.1',
  type: 'ban',
  duration: '3h59m58.5s',
  scenario: 'crowdsecurity/ssh-bf',
  origin: 'crowdsec',
};
function reasonOf(d: Record<string, unknown>): string {
  try {
    check(d);
  } catch (err) {
    if (err instanceof DecisionError) return err.reason;
    throw err;
  }
  return 'accepted';
}

describe('CrowdSec decisions', () => {
  it('reads Go durations', () => {
    expect(parseGoDuration('4h0m0s')).toBe(4 * 3_600_000);
    expect(parseGoDuration('59m58.825684519s')).toBeCloseTo(3_598_825.684519, 3);
    expect(parseGoDuration('-15.430041ms')).toBeCloseTo(-15.430041, 6);
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(parseGoDuration('0')).toBe(0);
    for (const bad of ['', '4', 'h', '4d', '1h 2m', '1.h', 'NaN']) expect(parseGoDuration(bad)).toBeUndefined();
  });

  it('an Ip or Range ban becomes a drop with its time left and the scenario and origin as reason', () => {
    const d = check(base);
    expect(d).toMatchObject({ id: 7, key: '192.0.2.1/32', action: DNSAction.Drop, reason: 'crowdsecurity/ssh-bf (crowdsec)' });
    expect(d.ttlMs).toBe(3 * 3_600_000 + 59 * 60_000 + 58_500);
    expect(check({ ...base, scope: 'Range', value: '198.51.100.7/24', type: 'captcha' })).toMatchObject({
      key: '198.51.100.0/24',
      action: DNSAction.Truncate,
    });
    expect(check({ ...base, scope: 'ip', value: '2001:db8::1' }).key).toBe('2001:db8::1/128');
  });

  it('refuses what it cannot or must not enforce, saying why', () => {
    expect(reasonOf({ ...base, id: 'x' })).toBe('malformed');
    expect(reasonOf({ ...base, duration: 5 })).toBe('malformed');
    expect(reasonOf({ ...base, scope: 'Country', value: 'FR' })).toBe('scope');
    expect(reasonOf({ ...base, value: '192.0.2.300' })).toBe('value');
    expect(reasonOf({ ...base, scope: 'Range', value: '192.0.2.0/33' })).toBe('value');
    expect(reasonOf({ ...base, type: 'throttle' })).toBe('type');
    expect(reasonOf({ ...base, duration: '25h' })).toBe('duration');
    expect(reasonOf({ ...base, duration: '3 days' })).toBe('duration');
    expect(reasonOf({ ...base, scope: 'Range', value: '0.0.0.0/0' })).toBe('range');
    expect(reasonOf({ ...base, scope: 'Range', value: '2001:db8::/31' })).toBe('range');
    // A deletion is not held to type and duration (it lifts, it does not block).
    expect(check({ ...base, type: 'throttle', duration: '-1s' }, true).key).toBe('192.0.2.1/32');
  });
});

describe('setCrowdSecBouncer options', () => {
  const ok = { url: 'http://127.0.0.1:8080', apiKey: 'k' };
  it('fills in the defaults and ends the URL with a slash', () => {
    expect(crowdSecBouncerOptions(ok)).toMatchObject({
      url: 'http://127.0.0.1:8080/',
      interval: 10,
      timeout: 10,
      origin: 'crowdsec',
      maxSeconds: 604800,
      maxDecisions: 1_000_000,
    });
  });
  it.each([
    [{ url: 'ftp://x/' }, /option 'url' must start with http:\/\/ or https:\/\//],
    [{ url: 'http://u:p@127.0.0.1/' }, /option 'url' must not carry credentials/],
    [{ apiKey: 'a b' }, /option 'apiKey' must be 1 to 256 printable characters/],
    [{ interval: 0 }, /option 'interval' must be from 1 to 3600 seconds/],
    [{ origin: 'my origin' }, /option 'origin' "my origin" must be/],
    [{ maxSeconds: 1.5 }, /option 'maxSeconds' must be a whole number/],
    [{ caFile: '/ca.pem' }, /option 'caFile' needs an https:\/\/ URL/],
    [{ actions: new Map([['ban', 'Allow']]) }, /option 'actions' maps "ban" to "Allow"/],
  ])('refuses %j', (bad, message) => {
    expect(() => crowdSecBouncerOptions({ ...ok, ...bad })).toThrow(message);
  });
});
