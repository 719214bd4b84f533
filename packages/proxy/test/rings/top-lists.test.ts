import { Rings } from '@dnsdist-ts/dataplane/rings/rings.js';
import { RingArgumentError } from '@dnsdist-ts/dataplane/rings/ring-argument-error.js';
import { BACKEND, makeQuery, makeResponse } from './ring-fixtures.js';

/** One expected table line, built by hand: "%4d  %-40s %4d %4.1f%%". */
function line(rank: number, name: string, count: number, percent: string): string {
  return `${String(rank).padStart(4)}  ${name.padEnd(40)} ${String(count).padStart(4)} ${percent.padStart(4)}%\n`;
}

describe('topClients', () => {
  const rings = new Rings(100, 4);
  beforeAll(() => {
    for (const [client, port] of [
      ['192.0.2.1', 1],
      ['192.0.2.1', 2],
      ['10.0.0.1', 1],
      ['2001:db8::1', 1],
      ['192.0.2.1', 3],
      ['10.0.0.1', 7],
    ] as const) {
      rings.recordQuery(makeQuery({ client, port }));
    }
  });

  it('ranks addresses (ports ignored) with their share, then Rest', () => {
    expect(rings.topClients()).toBe(
      line(1, '192.0.2.1', 3, '50.0') + line(2, '10.0.0.1', 2, '33.3') + line(3, '2001:db8::1', 1, '16.7') + line(4, 'Rest', 0, '0.0'),
    );
  });

  it('sums what is not shown into Rest', () => {
    expect(rings.topClients(1)).toBe(line(1, '192.0.2.1', 3, '50.0') + line(2, 'Rest', 3, '50.0'));
    expect(rings.topClients(0)).toBe(line(1, 'Rest', 6, '100.0'));
  });

  it('breaks ties in dnsdist map order: IPv4 by the address read little-endian, then IPv6', () => {
    const ties = new Rings(100, 2);
    for (const client of ['::1', '127.0.0.2', '127.0.1.1', '127.1.0.1']) ties.recordQuery(makeQuery({ client }));
    expect(ties.topClients()).toBe(
      line(1, '127.1.0.1', 1, '25.0') +
        line(2, '127.0.1.1', 1, '25.0') +
        line(3, '127.0.0.2', 1, '25.0') +
        line(4, '::1', 1, '25.0') +
        line(5, 'Rest', 0, '0.0'),
    );
  });

  it('prints only Rest at 100% when the ring is empty', () => {
    expect(new Rings(10, 1).topClients()).toBe(line(1, 'Rest', 0, '100.0'));
  });

  it('rejects a negative or fractional count', () => {
    expect(() => rings.topClients(-1)).toThrow(RingArgumentError);
    expect(() => rings.topClients(1.5)).toThrow(/number of entries to show must be an integer/);
  });
});

describe('topQueries and getTopQueries', () => {
  const rings = new Rings(100, 3);
  beforeAll(() => {
    const names = [
      'www.example.com',
      'WWW.example.com',
      'a.b.example.com',
      'nx1.example.org',
      'mail.example.com',
      'sf.example.net',
      'www.example.com',
    ];
    for (const name of names) rings.recordQuery(makeQuery({ name }));
    for (let i = 0; i < 9; i++) rings.recordQuery(makeQuery({ name: 'tcp.example.com', type: 'AAAA' }));
  });

  it('ranks lower-cased names; ties in dnsdist DNSName order (wire bytes compared from the end)', () => {
    // 16 queries. Ties: org < com < net by last label byte (g < m < t); within com, "a.b" < "mail" by the byte before "example".
    expect(rings.topQueries()).toBe(
      line(1, 'tcp.example.com.', 9, '56.2') +
        line(2, 'www.example.com.', 3, '18.8') +
        line(3, 'nx1.example.org.', 1, '6.2') +
        line(4, 'a.b.example.com.', 1, '6.2') +
        line(5, 'mail.example.com.', 1, '6.2') +
        line(6, 'sf.example.net.', 1, '6.2') +
        line(7, 'Rest', 0, '0.0'),
    );
  });

  it('returns the rows with exact percentages', () => {
    expect(rings.getTopQueries(1)).toEqual([
      { name: 'tcp.example.com.', count: 9, percent: 56.25 },
      { name: 'Rest', count: 7, percent: 43.75 },
    ]);
  });

  it('groups by the last N labels', () => {
    expect(rings.topQueries(10, 2)).toBe(
      line(1, 'example.com.', 14, '87.5') +
        line(2, 'example.org.', 1, '6.2') +
        line(3, 'example.net.', 1, '6.2') +
        line(4, 'Rest', 0, '0.0'),
    );
    expect(rings.topQueries(10, 0)).toBe(line(1, '.', 16, '100.0') + line(2, 'Rest', 0, '0.0'));
    // More labels than the names have: names unchanged.
    expect(rings.getTopQueries(1, 9)[0]).toEqual({ name: 'tcp.example.com.', count: 9, percent: 56.25 });
  });
});

describe('response top lists', () => {
  const rings = new Rings(100, 2);
  beforeAll(() => {
    const answer = (name: string, rcode: number, latencyUsec: number, padding = 0): void => {
      const dq = makeQuery({ name });
      rings.recordResponse(makeResponse(dq, { rcode, latencyUsec, padding, answers: rcode === 0 ? 1 : 0 }), 1);
    };
    answer('www.example.com', 0, 1000);
    answer('www.example.com', 0, 800_000);
    answer('nx.example.com', 3, 2000);
    answer('nx.example.com', 3, 2000);
    answer('nx2.example.net', 3, 2000);
    answer('slow.example.org', 0, 600_000);
    rings.recordTimeout(makeQuery({ name: 'dead.example.com' }), BACKEND, 2);
  });

  it('topResponses counts names per rcode (timeouts have rcode 0)', () => {
    expect(rings.topResponses()).toBe(
      line(1, 'www.example.com.', 2, '50.0') +
        line(2, 'slow.example.org.', 1, '25.0') +
        line(3, 'dead.example.com.', 1, '25.0') +
        line(4, 'Rest', 0, '0.0'),
    );
    expect(rings.topResponses(10, 3)).toBe(
      line(1, 'nx.example.com.', 2, '66.7') + line(2, 'nx2.example.net.', 1, '33.3') + line(3, 'Rest', 0, '0.0'),
    );
    expect(rings.topResponses(10, 5)).toBe(line(1, 'Rest', 0, '100.0'));
    expect(rings.getTopResponses(10, 3, 2)).toEqual([
      { name: 'example.com.', count: 2, percent: (100 * 2) / 3 },
      { name: 'example.net.', count: 1, percent: 100 / 3 },
      { name: 'Rest', count: 0, percent: 0 },
    ]);
  });

  it('topSlow counts answers slower than the limit (default 500 ms), timeouts included', () => {
    // Ties in map order: .org before .com; "dead" before "www" (d < w, the byte before "example").
    expect(rings.topSlow()).toBe(
      line(1, 'slow.example.org.', 1, '33.3') +
        line(2, 'dead.example.com.', 1, '33.3') +
        line(3, 'www.example.com.', 1, '33.3') +
        line(4, 'Rest', 0, '0.0'),
    );
    expect(rings.topSlow(10, 700)).toBe(
      line(1, 'dead.example.com.', 1, '50.0') + line(2, 'www.example.com.', 1, '50.0') + line(3, 'Rest', 0, '0.0'),
    );
    // Exactly at the limit is not slower.
    expect(rings.getSlowResponses(10, 800)).toEqual([
      { name: 'dead.example.com.', count: 1, percent: 100 },
      { name: 'Rest', count: 0, percent: 0 },
    ]);
  });
});

describe('topBandwidth', () => {
  it('ranks clients by bytes of queries plus answers', () => {
    const rings = new Rings(100, 2);
    const small = makeQuery({ client: '192.0.2.1' });
    const large = makeQuery({ client: '192.0.2.2' });
    rings.recordQuery(small);
    rings.recordQuery(large);
    const answer = makeResponse(large, { padding: 1000 });
    rings.recordResponse(answer, 1);
    const total = small.length + large.length + answer.length;
    expect(rings.getTopBandwidth(1)).toEqual([
      { name: '192.0.2.2', count: large.length + answer.length, percent: (100 * (large.length + answer.length)) / total },
      { name: 'Rest', count: small.length, percent: (100 * small.length) / total },
    ]);
    const share = (n: number): string => ((100 * n) / total).toFixed(1);
    expect(rings.topBandwidth()).toBe(
      line(1, '192.0.2.2', large.length + answer.length, share(large.length + answer.length)) +
        line(2, '192.0.2.1', small.length, share(small.length)) +
        line(3, 'Rest', 0, '0.0'),
    );
  });
});

describe('showResponseLatency', () => {
  it('prints the average and a star histogram in doubling bins', () => {
    const rings = new Rings(100, 2);
    const latencies = [50, 150, 150, 150, 150, 1000, 30_000, 5_000_000];
    for (const latencyUsec of latencies) rings.recordResponse(makeResponse(makeQuery(), { latencyUsec }), 1);
    rings.recordTimeout(makeQuery(), BACKEND, 1);
    const text = rings.showResponseLatency();
    const lines = text.split('\n');
    const average = latencies.reduce((a, b) => a + b, 0) / latencies.length / 1000;
    expect(lines[0]).toBe(`Average response latency: ${average.toFixed(2)} msec`);
    expect(lines[1]).toBe('   msec\t');
    // 4 in the 0.2 ms bin is the highest: 70 stars; 1 is 17.5 → 17 stars.
    expect(lines[2]).toBe('   0.10\t' + '*'.repeat(17));
    expect(lines[3]).toBe('   0.20\t' + '*'.repeat(70));
    expect(lines[4]).toBe('   0.40\t');
    expect(lines[6]).toBe('   1.60\t' + '*'.repeat(17));
    expect(lines[11]).toBe('  51.20\t' + '*'.repeat(17));
    expect(lines[16]).toBe('1638.40\t');
    expect(lines).toHaveLength(18);
    expect(new Rings(10, 1).showResponseLatency()).toBe('No traffic yet.\n');
  });
});

describe('ring tables', () => {
  it('lists answers shard by shard for getResponseRing and getRespRing', () => {
    const rings = new Rings(10, 2);
    rings.recordResponse(makeResponse(makeQuery({ name: 'a.example', type: 'TXT' }), { rcode: 3, latencyUsec: 12 }), 1);
    rings.recordResponse(makeResponse(makeQuery({ name: 'b.example' }), { latencyUsec: 34 }), 2);
    rings.recordResponse(makeResponse(makeQuery({ name: 'c.example' }), { rcode: 3, latencyUsec: 56 }), 3);
    expect(rings.getResponseRing()).toEqual([
      { name: 'a.example.', qtype: 16, rcode: 3, usec: 12 },
      { name: 'c.example.', qtype: 1, rcode: 3, usec: 56 },
      { name: 'b.example.', qtype: 1, rcode: 0, usec: 34 },
    ]);
    expect(rings.getRespRing(3)).toEqual([
      { qname: 'a.example.', rcode: '3' },
      { qname: 'c.example.', rcode: '3' },
    ]);
    expect(rings.getRespRing()).toHaveLength(3);
  });
});
