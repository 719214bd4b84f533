import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { MaxQPSIPRule, MaxQPSRule, QPSAction, QPSPoolAction, QpsLimiter, RuleArgumentError } from '@dnsdist-ts/dataplane/rules/index.js';
import { makeQuery, ManualClock } from './query-fixture.js';

describe('QpsLimiter', () => {
  it('lets a full burst through, then refills at the rate', () => {
    const clock = new ManualClock();
    const limiter = new QpsLimiter(10, 3, clock.read);
    expect([limiter.check(), limiter.check(), limiter.check(), limiter.check()]).toEqual([true, true, true, false]);
    clock.advance(99);
    expect(limiter.check()).toBe(false); // 0.99 of a token
    clock.advance(1);
    expect(limiter.check()).toBe(true);
    expect(limiter.check()).toBe(false);
    clock.advance(10_000);
    // Refill is capped at the burst.
    expect([limiter.check(), limiter.check(), limiter.check(), limiter.check()]).toEqual([true, true, true, false]);
  });

  it('does not add tokens when the clock goes backwards', () => {
    const clock = new ManualClock();
    const limiter = new QpsLimiter(1, 1, clock.read);
    expect(limiter.check()).toBe(true);
    clock.advance(-5000);
    expect(limiter.check()).toBe(false);
  });

  it('rejects negative or fractional rates', () => {
    expect(() => new QpsLimiter(-1)).toThrow(RuleArgumentError);
    expect(() => new QpsLimiter(1.5)).toThrow(/QPSLimiter.qps/);
  });
});

describe('MaxQPSRule', () => {
  it('matches while the overall rate is within the limit', () => {
    const clock = new ManualClock();
    const rule = new MaxQPSRule(2, 2, clock.read);
    const dq = makeQuery();
    expect([rule.matches(dq), rule.matches(dq), rule.matches(dq)]).toEqual([true, true, false]);
    clock.advance(500);
    expect(rule.matches(makeQuery({ remote: '198.51.100.9' }))).toBe(true);
    expect(rule.toString()).toBe('Max 2 qps');
  });
});

describe('MaxQPSIPRule', () => {
  it('matches clients over the rate, each /32 with its own bucket by default', () => {
    const clock = new ManualClock();
    const rule = new MaxQPSIPRule(2, { now: clock.read });
    const a = makeQuery({ remote: '192.0.2.1' });
    const b = makeQuery({ remote: '192.0.2.2' });
    expect([rule.matches(a), rule.matches(a), rule.matches(a)]).toEqual([false, false, true]);
    expect(rule.matches(b)).toBe(false);
    clock.advance(500);
    expect(rule.matches(a)).toBe(false);
    expect(rule.matches(a)).toBe(true);
    expect(rule.entriesCount).toBe(2);
    expect(rule.toString()).toBe('IP (/32, /64) match for QPS over 2 burst 2');
  });

  it('groups clients by the configured prefixes', () => {
    const clock = new ManualClock();
    const rule = new MaxQPSIPRule(1, { v4Mask: 24, v6Mask: 48, burst: 2, now: clock.read });
    expect(rule.matches(makeQuery({ remote: '192.0.2.1' }))).toBe(false);
    expect(rule.matches(makeQuery({ remote: '192.0.2.200' }))).toBe(false);
    expect(rule.matches(makeQuery({ remote: '192.0.2.99' }))).toBe(true);
    expect(rule.matches(makeQuery({ remote: '192.0.3.1' }))).toBe(false);
    expect(rule.matches(makeQuery({ remote: '2001:db8:1:aaaa::1' }))).toBe(false);
    expect(rule.matches(makeQuery({ remote: '2001:db8:1:bbbb::2' }))).toBe(false);
    expect(rule.matches(makeQuery({ remote: '2001:db8:1:cccc::3' }))).toBe(true);
    expect(rule.matches(makeQuery({ remote: '2001:db8:2::1' }))).toBe(false);
    expect(rule.entriesCount).toBe(4);
    expect(rule.toString()).toBe('IP (/24, /48) match for QPS over 1 burst 2');
  });

  it('handles /0 and full-length IPv6 prefixes', () => {
    const clock = new ManualClock();
    const all = new MaxQPSIPRule(1, { v4Mask: 0, v6Mask: 0, now: clock.read });
    expect(all.matches(makeQuery({ remote: '10.0.0.1' }))).toBe(false);
    expect(all.matches(makeQuery({ remote: '172.16.0.1' }))).toBe(true);
    expect(all.entriesCount).toBe(1);
    const exact = new MaxQPSIPRule(1, { v6Mask: 128, now: clock.read });
    expect(exact.matches(makeQuery({ remote: '2001:db8::1' }))).toBe(false);
    expect(exact.matches(makeQuery({ remote: '2001:db8::2' }))).toBe(false);
    expect(exact.matches(makeQuery({ remote: '2001:db8::1' }))).toBe(true);
  });

  it('drops buckets unseen for the expiration while matching, no more often than cleanupDelay', () => {
    const clock = new ManualClock();
    const rule = new MaxQPSIPRule(5, { expiration: 10, cleanupDelay: 5, scanFraction: 1, now: clock.read });
    for (let i = 1; i <= 4; i++) rule.matches(makeQuery({ remote: `192.0.2.${i}` }));
    expect(rule.entriesCount).toBe(4);
    clock.advance(8_000);
    rule.matches(makeQuery({ remote: '192.0.2.1' })); // cleanup pass runs, nothing is 10 s old yet
    expect(rule.entriesCount).toBe(4);
    clock.advance(3_000);
    // Too soon for another pass, although .2-.4 are now 11 s old.
    rule.matches(makeQuery({ remote: '192.0.2.9' }));
    expect(rule.entriesCount).toBe(5);
    clock.advance(3_000);
    rule.matches(makeQuery({ remote: '192.0.2.9' }));
    // .2-.4 went; .1 (seen 6 s ago) and .9 stay.
    expect(rule.entriesCount).toBe(2);
  });

  it('looks at a bounded share of the buckets per pass, oldest first', () => {
    const clock = new ManualClock();
    const rule = new MaxQPSIPRule(5, { expiration: 1, cleanupDelay: 1, scanFraction: 10, now: clock.read });
    for (let i = 0; i < 30; i++) rule.matches(makeQuery({ remote: `10.0.0.${i}` }));
    clock.advance(5_000);
    // 30 / 10 + 1 = 4 are looked at; the query's own new bucket is added after the pass.
    rule.matches(makeQuery({ remote: '10.0.1.1' }));
    expect(rule.entriesCount).toBe(30 - 4 + 1);
    // A forced pass over 27 buckets looks at 27 / 10 + 1 = 3, all stale.
    expect(rule.cleanup()).toBe(3);
    expect(rule.entriesCount).toBe(24);
  });

  it('a bucket seen again is refreshed and kept', () => {
    const clock = new ManualClock();
    const rule = new MaxQPSIPRule(5, { expiration: 10, cleanupDelay: 1, scanFraction: 1, now: clock.read });
    rule.matches(makeQuery({ remote: '192.0.2.1' }));
    rule.matches(makeQuery({ remote: '192.0.2.2' }));
    clock.advance(9_000);
    rule.matches(makeQuery({ remote: '192.0.2.1' }));
    clock.advance(2_000);
    rule.matches(makeQuery({ remote: '192.0.2.1' }));
    expect(rule.entriesCount).toBe(1);
    rule.clear();
    expect(rule.entriesCount).toBe(0);
  });

  it('never cleans up with cleanupDelay 0', () => {
    const clock = new ManualClock();
    const rule = new MaxQPSIPRule(5, { expiration: 1, cleanupDelay: 0, now: clock.read });
    rule.matches(makeQuery({ remote: '192.0.2.1' }));
    clock.advance(100_000);
    rule.matches(makeQuery({ remote: '192.0.2.2' }));
    expect(rule.entriesCount).toBe(2);
  });

  it('rejects masks that do not fit the address family', () => {
    expect(() => new MaxQPSIPRule(1, { v4Mask: 33 })).toThrow(RuleArgumentError);
    expect(() => new MaxQPSIPRule(1, { v6Mask: 129 })).toThrow(/MaxQPSIPRule.v6Mask/);
  });
});

describe('QPSAction / QPSPoolAction', () => {
  it('QPSAction drops past the rate and lets the rest continue', () => {
    const clock = new ManualClock();
    const action = new QPSAction(2, clock.read);
    const dq = makeQuery();
    expect([action.apply(dq), action.apply(dq), action.apply(dq)]).toEqual([DNSAction.None, DNSAction.None, DNSAction.Drop]);
    clock.advance(500);
    expect(action.apply(dq)).toBe(DNSAction.None);
    expect(action.toString()).toBe('qps limit to 2');
  });

  it('QPSPoolAction routes to the pool within the rate, and continues past it', () => {
    const clock = new ManualClock();
    const action = new QPSPoolAction(1, 'abuse', clock.read);
    const first = makeQuery();
    expect(action.apply(first)).toBe(DNSAction.Pool);
    expect(first.pool).toBe('abuse');
    const second = makeQuery();
    expect(action.apply(second)).toBe(DNSAction.None);
    expect(second.pool).toBe('');
    expect(action.toString()).toBe('max 1 to pool abuse');
  });
});
