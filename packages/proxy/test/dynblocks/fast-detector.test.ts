import { DynBlockRateRule } from '@dnsdist-ts/dynblocks/dynblocks/dyn-block-rule.js';
import { FastDetector } from '@dnsdist-ts/dynblocks/dynblocks/fast-detector.js';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { waitFor } from '../support/dns-client.js';
import { makeQuery } from '../rings/ring-fixtures.js';
import { TestWorld } from './test-clock-world.js';

const rule = (rate: number) =>
  new DynBlockRateRule({ rate, seconds: 1, reason: 'fast', blockSeconds: 10, action: DNSAction.Drop, warningRate: 0 });

describe('FastDetector', () => {
  it('triggers on the lowest query rate of the groups in use, per client and bucket', async () => {
    const w = new TestWorld();
    const g = w.group();
    const errors: Error[] = [];
    const fast = new FastDetector(
      () => [g],
      (e) => errors.push(e),
    );
    g.onRulesChanged = () => fast.refresh();
    g.setQueryRate(rule(100));
    // Not applied by maintenance() yet: not in use, no trigger.
    expect(fast.threshold).toBe(Infinity);
    g.apply(0);
    // 100/s over a 50 ms bucket: the 6th query of a client within one bucket is over the rate.
    expect(fast.threshold).toBe(6);
    g.setQTypeRate(255, rule(40));
    expect(fast.threshold).toBe(3);

    const at = performance.now();
    for (let i = 0; i < 2; i++) fast.observe(makeQuery({ client: '192.0.2.1', at }));
    for (let i = 0; i < 2; i++) fast.observe(makeQuery({ client: '192.0.2.2', at }));
    expect(fast.passes).toBe(0);
    // Two clients under the trigger: no pass is even scheduled (checked again after a bucket).
    await new Promise((r) => setTimeout(r, 80));
    expect(fast.passes).toBe(0);

    // 101 queries in the ring from one client: the triggered pass blocks it, without waiting for maintenance().
    const now = performance.now();
    w.queries(101, now - 500, now, { client: '192.0.2.3' });
    for (let i = 0; i < 3; i++) fast.observe(makeQuery({ client: '192.0.2.3', at: now }));
    await waitFor('the fast pass', () => fast.passes === 1, 2000);
    expect(Object.keys(w.clientTable(performance.now()))).toEqual(['192.0.2.3/32']);
    expect(errors).toEqual([]);
    fast.close();
  });

  it("in a data-plane worker, follows the control plane's rate divided among the workers and reports instead of running a pass", () => {
    const w = new TestWorld();
    const g = w.group();
    g.setQueryRate(rule(1000));
    g.apply(0);
    const fast = new FastDetector(
      () => [g],
      (e) => {
        throw e;
      },
    );
    const settings: unknown[] = [];
    fast.onSettingsChanged = () => settings.push(fast.settings);
    fast.enabled = true;
    // This Lua state's group: 1000/s over 50 ms, the 51st query.
    expect(fast.threshold).toBe(51);
    expect(fast.settings).toEqual({ enabled: true, rate: 1000, v4Bits: 32 });
    let reports = 0;
    // The control plane's group allows 400/s, shared by 2 workers: 10 per bucket here, the 11th triggers.
    fast.follow({ rate: 400, v4Bits: 24, divisor: 2, onCandidate: () => reports++ });
    expect(fast.threshold).toBe(11);
    const at = performance.now();
    // A /24 is one client for the control plane's group: two addresses in it add up.
    for (let i = 0; i < 5; i++) fast.observe(makeQuery({ client: '192.0.2.1', at }));
    for (let i = 0; i < 5; i++) fast.observe(makeQuery({ client: '192.0.2.200', at }));
    expect(reports).toBe(0);
    fast.observe(makeQuery({ client: '192.0.2.7', at }));
    // Reported at once (one message), no pass run here: the groups are applied in the control plane.
    expect(reports).toBe(1);
    expect(fast.passes).toBe(1);
    expect(w.clientTable(performance.now())).toEqual({});
    // Another client over its share within 50 ms: its report waits for the interval (one message per 50 ms).
    for (let i = 0; i < 11; i++) fast.observe(makeQuery({ client: '198.51.100.1', at }));
    expect(reports).toBe(1);
    fast.close();
    // No group in use in the control plane: no trigger, and a requested pass does nothing.
    fast.follow({ rate: Infinity, v4Bits: 32, divisor: 2, onCandidate: () => reports++ });
    expect(fast.threshold).toBe(Infinity);
    fast.requestPass();
    expect(fast.passes).toBe(1);
    // Switching off is a settings change too (the control plane sends it to its workers).
    fast.enabled = false;
    expect(settings.at(-1)).toEqual({ enabled: false, rate: 1000, v4Bits: 32 });
  });
});
