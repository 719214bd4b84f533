/**
 * MaxQPSIPRule's per-client table shared by the data-plane workers: two
 * views of one buffer (as two workers have) count a client once, clients
 * are grouped by the rule's prefixes, a full table hands the client back
 * to the rule's own buckets, and the rules a configuration creates take
 * the control plane's tables in creation order (ClientTableHook).
 */
import { MaxQPSIPRule } from '@dnsdist-ts/dataplane/rules/index.js';
import { ClientTableHook, SharedClientTable } from '@dnsdist-ts/workers/workers/shared-client-buckets.js';
import { makeQuery } from '../../proxy/test/rules/query-fixture.js';

const bytes = (a: string): Uint8Array =>
  a.includes(':')
    ? Uint8Array.from(
        Buffer.from(a === '2001:db8:1:aaaa::1' ? '20010db80001aaaa0000000000000001' : '20010db80001bbbb0000000000000002', 'hex'),
      )
    : Uint8Array.from(a.split('.').map(Number));

const rule = { qps: 1, burst: 3, v4Mask: 24, v6Mask: 48, expirationMs: 300_000 };

describe('SharedClientTable', () => {
  it('counts a client once across every view of the buffer, grouped by the prefixes', () => {
    const buffer = SharedClientTable.allocate(1024);
    const [w0, w1] = [new SharedClientTable(buffer, rule), new SharedClientTable(buffer, rule)];
    // Burst 3 for 192.0.2.0/24 in total: two "workers" share it.
    expect([w0.take(bytes('192.0.2.1')), w1.take(bytes('192.0.2.200')), w0.take(bytes('192.0.2.9'))]).toEqual([true, true, true]);
    expect([w1.take(bytes('192.0.2.1')), w0.take(bytes('192.0.2.2'))]).toEqual([false, false]);
    // Another /24 and IPv6 /48s have buckets of their own.
    expect(w1.take(bytes('192.0.3.1'))).toBe(true);
    expect([w0.take(bytes('2001:db8:1:aaaa::1')), w1.take(bytes('2001:db8:1:bbbb::2'))]).toEqual([true, true]);
    expect(w0.entries).toBe(3);
    w1.clear();
    expect(w0.entries).toBe(0);
    expect(w0.take(bytes('192.0.2.1'))).toBe(true);
  });

  it('hands a client back (undefined) when its probe finds only other live clients', () => {
    const tiny = new SharedClientTable(SharedClientTable.allocate(2), { ...rule, v4Mask: 32 });
    expect(tiny.take(bytes('192.0.2.1'))).toBe(true);
    expect(tiny.take(bytes('192.0.2.2'))).toBe(true);
    expect(tiny.take(bytes('192.0.2.3'))).toBeUndefined();
    expect(() => new SharedClientTable(new SharedArrayBuffer(96), rule)).toThrow(/power of two/);
  });
});

describe('ClientTableHook', () => {
  it("gives a worker's MaxQPSIPRules the control plane's tables in creation order, so the limit is the total", () => {
    const control = new ClientTableHook();
    control.begin();
    new MaxQPSIPRule(1, { burst: 2 });
    new MaxQPSIPRule(5, { burst: 1 });
    const tables = control.newTables();
    expect(tables).toHaveLength(2);
    // Two "workers" run the same configuration over the same tables.
    const make = (): MaxQPSIPRule[] => {
      const hook = new ClientTableHook();
      hook.begin(tables);
      const rules = [new MaxQPSIPRule(1, { burst: 2 }), new MaxQPSIPRule(5, { burst: 1 })];
      hook.begin();
      return rules;
    };
    const [w0, w1] = [make(), make()];
    const q = makeQuery({ remote: '192.0.2.1' });
    // matches() is "over the limit": two queries pass in total, not two per worker.
    expect([w0[0]!.matches(q), w1[0]!.matches(q), w0[0]!.matches(q), w1[0]!.matches(q)]).toEqual([false, false, true, true]);
    expect([w1[1]!.matches(q), w0[1]!.matches(q)]).toEqual([false, true]);
    // Outside those runs a rule keeps its own buckets.
    const own = new MaxQPSIPRule(1, { burst: 1 });
    expect([own.matches(q), own.matches(q)]).toEqual([false, true]);
    expect(own.entriesCount).toBe(1);
  });
});
