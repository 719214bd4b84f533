import { DynBlockRateRule } from '../../src/dynblocks/dyn-block-rule.js';
import { FastDetector } from '../../src/dynblocks/fast-detector.js';
import { DNSAction } from '../../src/query/dns-action.js';
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
});
