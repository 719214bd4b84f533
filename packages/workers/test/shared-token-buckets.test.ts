/**
 * Shared token buckets (GCRA over one 64-bit word): a full bucket lets
 * `burst` through at once, then refills at `rate`; rate 0 never refills,
 * burst 0 lets nothing through; two views of one buffer (as two workers
 * have) take from the same bucket.
 */
import { QpsLimiter } from '@dnsdist-ts/dataplane/rules/qps-limiter.js';
import { SharedTokenBuckets, withConfigurationLimiters } from '@dnsdist-ts/workers/workers/shared-token-buckets.js';

describe('SharedTokenBuckets', () => {
  it('lets a full burst through, then refuses until time refills it; rate 0 and burst 0 as dnsdist', () => {
    const b = SharedTokenBuckets.create(3);
    const a = b.allocate(1, 3);
    expect([a.take(), a.take(), a.take(), a.take()]).toEqual([true, true, true, false]);
    expect(a.peek()).toBe(false);
    const never = b.allocate(0, 2);
    expect([never.take(), never.take(), never.take()]).toEqual([true, true, false]);
    const none = b.allocate(10, 0);
    expect(none.take()).toBe(false);
    expect(() => b.allocate(1, 1)).toThrow(/more rate limiters \(4\) than the control plane's \(3\)/);
  });

  it('is one bucket for every thread holding the buffer, and only for limiters the configuration creates', () => {
    const control = withConfigurationLimiters(undefined, () => {
      new QpsLimiter(5, 2);
      new QpsLimiter(7);
    });
    expect(control).toBe(2);
    const shared = SharedTokenBuckets.create(control);
    // Two "workers": the same buffer, limiters created in the same order.
    const make = (): QpsLimiter[] => {
      const out: QpsLimiter[] = [];
      withConfigurationLimiters(new SharedTokenBuckets(shared.buffer), () => out.push(new QpsLimiter(5, 2), new QpsLimiter(7)));
      return out;
    };
    const [w0, w1] = [make(), make()];
    expect([w0[0]!.check(), w1[0]!.check(), w0[0]!.check(), w1[0]!.check()]).toEqual([true, true, false, false]);
    // Outside the configuration a limiter is the thread's own again.
    const own = new QpsLimiter(5, 2);
    expect([own.check(), own.check(), own.check()]).toEqual([true, true, false]);
  });
});
