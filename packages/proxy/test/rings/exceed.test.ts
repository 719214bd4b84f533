import { Rings } from '@dnsdist-ts/dataplane/rings/rings.js';
import { makeQuery, makeResponse } from './ring-fixtures.js';

const NOW = 500_000;

function fill(rings: Rings, count: number, options: Parameters<typeof makeQuery>[0], spreadMs: number): void {
  for (let i = 0; i < count; i++) rings.recordQuery(makeQuery({ ...options, at: NOW - (spreadMs * i) / Math.max(1, count - 1) }));
}

describe('exceedQRate', () => {
  it('reports clients with strictly more than rate × seconds queries in the window', () => {
    const rings = new Rings(1000, 10);
    fill(rings, 10, { client: '192.0.2.1' }, 9000);
    fill(rings, 11, { client: '192.0.2.2' }, 9000);
    expect(rings.exceedQRate(1, 10, NOW)).toEqual(new Map([['192.0.2.2', 11]]));
    expect(rings.exceedQRate(0, 10, NOW)).toEqual(
      new Map([
        ['192.0.2.1', 10],
        ['192.0.2.2', 11],
      ]),
    );
  });

  it('counts an entry exactly at the window edge, not one a millisecond older', () => {
    const rings = new Rings(100, 2);
    for (let i = 0; i < 5; i++) rings.recordQuery(makeQuery({ at: NOW - 2000 }));
    for (let i = 0; i < 5; i++) rings.recordQuery(makeQuery({ at: NOW - 2001 }));
    // 5 in the last 2 s: over 2/s (> 4) but not over 2.5/s (> 5).
    expect(rings.exceedQRate(2, 2, NOW)).toEqual(new Map([['192.0.2.1', 5]]));
    expect(rings.exceedQRate(2.5, 2, NOW).size).toBe(0);
  });

  it('ignores queries from the future and groups ports of one address', () => {
    const rings = new Rings(100, 2);
    for (let port = 1; port <= 4; port++) rings.recordQuery(makeQuery({ client: '2001:db8::53', port, at: NOW - 10 }));
    for (let i = 0; i < 50; i++) rings.recordQuery(makeQuery({ client: '2001:db8::53', at: NOW + 1 }));
    expect(rings.exceedQRate(1, 3, NOW)).toEqual(new Map([['2001:db8::53', 4]]));
  });

  it('with seconds 0 divides by the age of the oldest entry in the ring', () => {
    const rings = new Rings(100, 2);
    // 20 queries over the last 4 s: 5 per second.
    fill(rings, 20, { client: '192.0.2.7' }, 4000);
    expect(rings.exceedQRate(4.9, 0, NOW)).toEqual(new Map([['192.0.2.7', 20]]));
    expect(rings.exceedQRate(5, 0, NOW).size).toBe(0);
  });

  it('finds nobody in empty rings', () => {
    const rings = new Rings(100, 2);
    expect(rings.exceedQRate(0, 0, NOW).size).toBe(0);
    expect(rings.exceedQTypeRate(1, 0, 0, NOW).size).toBe(0);
    expect(rings.exceedServFails(0, 0, NOW).size).toBe(0);
    expect(rings.exceedRespByterate(0, 0, NOW).size).toBe(0);
  });
});

describe('exceedQTypeRate', () => {
  it('counts only the given type', () => {
    const rings = new Rings(100, 2);
    fill(rings, 6, { client: '192.0.2.1', type: 'ANY' }, 1000);
    fill(rings, 30, { client: '192.0.2.2', type: 'A' }, 1000);
    expect(rings.exceedQTypeRate(255, 2, 2, NOW)).toEqual(new Map([['192.0.2.1', 6]]));
    expect(rings.exceedQTypeRate(255, 3, 2, NOW).size).toBe(0);
  });

  it('with seconds 0 takes the window from the oldest entry of any type, as dnsdist does', () => {
    const rings = new Rings(100, 1);
    rings.recordQuery(makeQuery({ type: 'A', at: NOW - 10_000 }));
    fill(rings, 6, { type: 'ANY' }, 1000);
    // 6 ANY over a ring spanning 10 s: 0.6/s.
    expect(rings.exceedQTypeRate(255, 0.5, 0, NOW)).toEqual(new Map([['192.0.2.1', 6]]));
    expect(rings.exceedQTypeRate(255, 0.6, 0, NOW).size).toBe(0);
  });
});

describe('response-based exceed functions', () => {
  function answered(rings: Rings, client: string, rcode: number, count: number, padding = 0): number {
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const dr = makeResponse(makeQuery({ client }), { rcode, padding });
      bytes += dr.length;
      rings.recordResponse(dr, NOW - i * 100);
    }
    return bytes;
  }

  it('exceedServFails and exceedNXDOMAINs count their rcode only', () => {
    const rings = new Rings(1000, 4);
    answered(rings, '192.0.2.1', 2, 11);
    answered(rings, '192.0.2.2', 3, 11);
    answered(rings, '192.0.2.3', 0, 30);
    expect(rings.exceedServFails(1, 10, NOW)).toEqual(new Map([['192.0.2.1', 11]]));
    expect(rings.exceedNXDOMAINs(1, 10, NOW)).toEqual(new Map([['192.0.2.2', 11]]));
    expect(rings.exceedNXDOMAINs(2, 10, NOW).size).toBe(0);
  });

  it('exceedRespByterate sums answer sizes', () => {
    const rings = new Rings(1000, 4);
    const big = answered(rings, '192.0.2.1', 0, 10, 500);
    const small = answered(rings, '192.0.2.2', 0, 10);
    expect(big).toBeGreaterThan(5000);
    // Over 500 bytes/s for 10 s: only the client sent > 5000 bytes.
    expect(rings.exceedRespByterate(500, 10, NOW)).toEqual(new Map([['192.0.2.1', big]]));
    expect(rings.exceedRespByterate(small / 10 - 1, 10, NOW)).toEqual(
      new Map([
        ['192.0.2.1', big],
        ['192.0.2.2', small],
      ]),
    );
  });
});
