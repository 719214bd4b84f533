import { QType } from '@dnsdist-ts/dns';
import { cutOffFor, rateExceeded } from '@dnsdist-ts/dataplane/rings/client-counting.js';
import { EXACT_CLIENT_MASKS, validateClientMasks } from '@dnsdist-ts/dataplane/rings/client-range.js';
import { RingArgumentError } from '@dnsdist-ts/dataplane/rings/ring-argument-error.js';
import { Rings } from '@dnsdist-ts/dataplane/rings/rings.js';
import { makeQuery, makeResponse } from './ring-fixtures.js';

const NOW = 100_000;

/** Client range text → totals, for readable assertions. */
function table(found: ReturnType<Rings['countQueriesByClient']>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const range of found.clients.values()) out[range.toString()] = [...range.counts];
  return out;
}

describe('cutOffFor and rateExceeded', () => {
  it('makes a window of N seconds, or the whole ring for 0', () => {
    expect(cutOffFor(NOW, 10)).toBe(NOW - 10_000);
    expect(cutOffFor(NOW, 0)).toBe(-Infinity);
  });

  it('needs strictly more than rate × seconds', () => {
    expect(rateExceeded(50, 5, 10, 0, NOW)).toBe(false);
    expect(rateExceeded(51, 5, 10, 0, NOW)).toBe(true);
  });

  it('uses the age of the oldest counted entry when seconds is 0', () => {
    // Oldest entry 4 s old, rate 10/s: more than 40 needed.
    expect(rateExceeded(40, 10, 0, NOW - 4000, NOW)).toBe(false);
    expect(rateExceeded(41, 10, 0, NOW - 4000, NOW)).toBe(true);
  });
});

describe('countQueriesByClient', () => {
  it('counts entries with cutOff <= time <= now, skipping entries from the future', () => {
    const rings = new Rings(100, 3);
    for (const at of [NOW - 10_001, NOW - 10_000, NOW - 5000, NOW, NOW + 1]) rings.recordQuery(makeQuery({ at }));
    const found = rings.countQueriesByClient(NOW, EXACT_CLIENT_MASKS, [{ cutOff: cutOffFor(NOW, 10) }, { cutOff: cutOffFor(NOW, 0) }]);
    // The window edge counts; the future entry counts for no window.
    expect(table(found)).toEqual({ '192.0.2.1/32': [3, 4] });
    expect([...found.oldest]).toEqual([NOW - 10_000, NOW - 10_001]);
    expect(found.now).toBe(NOW);
  });

  it('feeds several rules from one walk, each with its own window and filter', () => {
    const rings = new Rings(100, 4);
    rings.recordQuery(makeQuery({ client: '192.0.2.1', type: 'ANY', at: NOW - 1000 }));
    rings.recordQuery(makeQuery({ client: '192.0.2.1', type: 'A', at: NOW - 3000 }));
    rings.recordQuery(makeQuery({ client: '192.0.2.2', type: 'ANY', at: NOW - 3000 }));
    rings.recordQuery(makeQuery({ client: '192.0.2.2', type: 'TXT', name: 'x.evil.example', at: NOW - 100 }));
    const found = rings.countQueriesByClient(NOW, EXACT_CLIENT_MASKS, [
      { cutOff: cutOffFor(NOW, 10) },
      { cutOff: cutOffFor(NOW, 2), qtype: QType.ANY },
      { cutOff: cutOffFor(NOW, 10), filter: (e) => e.qname.endsWith('.evil.example.') },
    ]);
    expect(table(found)).toEqual({ '192.0.2.1/32': [2, 1, 0], '192.0.2.2/32': [2, 0, 1] });
    // Oldest counted per counter: the qtype counter only saw the ANY at -1 s.
    expect([...found.oldest]).toEqual([NOW - 3000, NOW - 1000, NOW - 100]);
  });

  it('reports `now` as oldest, and no client, when a counter counts nothing', () => {
    const rings = new Rings(100, 1);
    rings.recordQuery(makeQuery({ at: NOW - 20_000 }));
    const found = rings.countQueriesByClient(NOW, EXACT_CLIENT_MASKS, [{ cutOff: cutOffFor(NOW, 10) }]);
    expect(found.clients.size).toBe(0);
    expect([...found.oldest]).toEqual([NOW]);
  });

  it('groups clients by the IPv4 and IPv6 masks', () => {
    const rings = new Rings(100, 2);
    for (const client of ['192.0.2.1', '192.0.2.200', '192.0.3.1', '2001:db8:0:1::1', '2001:db8:0:1:ffff::2', '2001:db8:0:2::1']) {
      rings.recordQuery(makeQuery({ client, at: NOW }));
    }
    const found = rings.countQueriesByClient(NOW, { v4: 24, v6: 64, port: 0 }, [{ cutOff: -Infinity }]);
    expect(table(found)).toEqual({ '192.0.2.0/24': [2], '192.0.3.0/24': [1], '2001:db8:0:1::/64': [2], '2001:db8:0:2::/64': [1] });
    const range = [...found.clients.values()][0]!;
    expect([...range.network]).toEqual([192, 0, 2, 0]);
    expect(range.prefix).toBe(24);
    expect(range.isSingleAddress).toBe(false);
    expect(range.sample.address).toBe('192.0.2.1');
  });

  it('with /0 masks counts all clients of a family together', () => {
    const rings = new Rings(100, 2);
    for (const client of ['10.0.0.1', '203.0.113.9', '::1', 'fe80::1']) rings.recordQuery(makeQuery({ client, at: NOW }));
    const found = rings.countQueriesByClient(NOW, { v4: 0, v6: 0, port: 0 }, [{ cutOff: -Infinity }]);
    expect(table(found)).toEqual({ '0.0.0.0/0': [2], '::/0': [2] });
  });

  it('splits an IPv4 address by source-port ranges with a port mask', () => {
    const rings = new Rings(100, 2);
    for (const port of [1024, 1500, 2047, 2048, 65535]) rings.recordQuery(makeQuery({ client: '192.0.2.1', port, at: NOW }));
    rings.recordQuery(makeQuery({ client: '2001:db8::1', port: 1024, at: NOW }));
    rings.recordQuery(makeQuery({ client: '2001:db8::1', port: 65000, at: NOW }));
    // 5 port bits: ranges of 2048 ports. IPv6 ignores the port mask.
    const found = rings.countQueriesByClient(NOW, { v4: 32, v6: 128, port: 5 }, [{ cutOff: -Infinity }]);
    expect(table(found)).toEqual({ '192.0.2.1:0/5': [3], '192.0.2.1:2048/5': [1], '192.0.2.1:63488/5': [1], '2001:db8::1/128': [2] });
    const whole = rings.countQueriesByClient(NOW, { v4: 32, v6: 128, port: 16 }, [{ cutOff: -Infinity }]);
    expect(Object.keys(table(whole))).toContain('192.0.2.1:65535/16');
  });

  it('rejects masks dnsdist rejects', () => {
    expect(() => validateClientMasks({ v4: 33, v6: 128, port: 0 })).toThrow(/IPv4 mask must be an integer from 0 to 32/);
    expect(() => validateClientMasks({ v4: 32, v6: 129, port: 0 })).toThrow(/IPv6 mask/);
    expect(() => validateClientMasks({ v4: 32, v6: 128, port: 17 })).toThrow(/port mask must be/);
    expect(() => validateClientMasks({ v4: 24, v6: 128, port: 4 })).toThrow(/needs the full IPv4 address/);
    const rings = new Rings(10, 1);
    expect(() => rings.countQueriesByClient(NOW, { v4: -1, v6: 64, port: 0 }, [])).toThrow(RingArgumentError);
  });
});

describe('countResponsesByClient', () => {
  it('counts answers by rcode, sums bytes, and totals answers for ratios in one walk', () => {
    const rings = new Rings(100, 3);
    const a = makeQuery({ client: '192.0.2.1' });
    const b = makeQuery({ client: '192.0.2.2' });
    const answers = [
      makeResponse(a, { rcode: 3 }),
      makeResponse(a, { rcode: 3 }),
      makeResponse(a, { rcode: 0, answers: 2 }),
      makeResponse(b, { rcode: 2 }),
    ];
    answers.forEach((dr, i) => rings.recordResponse(dr, NOW - i * 1000));
    rings.recordTimeout(b, undefined, NOW - 500);
    const found = rings.countResponsesByClient(NOW, EXACT_CLIENT_MASKS, [
      { cutOff: cutOffFor(NOW, 10), rcode: 3 },
      { cutOff: cutOffFor(NOW, 10), measure: 'bytes' },
      { cutOff: cutOffFor(NOW, 10) },
      { cutOff: cutOffFor(NOW, 1.5), rcode: 0 },
    ]);
    const sizes = answers.map((dr) => dr.length);
    expect(table(found)).toEqual({
      '192.0.2.1/32': [2, sizes[0]! + sizes[1]! + sizes[2]!, 3, 0],
      // The timeout counts as an answer of 0 bytes with RCODE 0, as in dnsdist.
      '192.0.2.2/32': [0, sizes[3]!, 2, 1],
    });
    expect([...found.oldest]).toEqual([NOW - 1000, NOW - 3000, NOW - 3000, NOW - 500]);
  });
});
