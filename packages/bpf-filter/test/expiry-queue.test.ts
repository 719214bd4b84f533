import fc from 'fast-check';
import { ExpiryQueue } from '../src/expiry-queue.js';

describe('ExpiryQueue (pure logic)', () => {
  it('takes only what is due (until <= now), earliest first, once', () => {
    const q = new ExpiryQueue<string>();
    q.schedule('c', 30);
    q.schedule('a', 10);
    q.schedule('b', 20);
    expect(q.takeExpired(9)).toEqual([]);
    expect(q.takeExpired(20)).toEqual([
      ['a', 10],
      ['b', 20],
    ]);
    expect(q.takeExpired(25)).toEqual([]);
    expect(q.size).toBe(1);
    expect(q.has('c')).toBe(true);
    expect(q.takeExpired(100)).toEqual([['c', 30]]);
    expect(q.size).toBe(0);
  });

  it('a reschedule (later or earlier) replaces the deadline; the old slot is dropped lazily', () => {
    const q = new ExpiryQueue<string>();
    q.schedule('x', 10);
    q.schedule('x', 50);
    q.schedule('y', 40);
    q.schedule('y', 5);
    expect(q.deadline('x')).toBe(50);
    expect(q.slots).toBe(4);
    expect(q.takeExpired(10)).toEqual([['y', 5]]);
    expect(q.takeExpired(49)).toEqual([]);
    expect(q.takeExpired(50)).toEqual([['x', 50]]);
    expect(q.slots).toBe(0);
  });

  it('a cancelled key is never taken; cancel says whether it was scheduled', () => {
    const q = new ExpiryQueue<object>();
    const a = {};
    const b = {};
    q.schedule(a, 1);
    q.schedule(b, 2);
    expect(q.cancel(a)).toBe(true);
    expect(q.cancel(a)).toBe(false);
    expect(q.earliest()).toBe(2);
    expect(q.takeExpired(10)).toEqual([[b, 2]]);
  });

  it('works with bigint nanosecond deadlines', () => {
    const q = new ExpiryQueue<string, bigint>();
    q.schedule('k', 2_000_000_000n);
    q.schedule('j', 1_000_000_000n);
    expect(q.takeExpired(1_500_000_000n)).toEqual([['j', 1_000_000_000n]]);
  });

  it('taking the few keys due among 100,000 live ones leaves the live ones scheduled', () => {
    const q = new ExpiryQueue<number>();
    for (let i = 0; i < 100_000; i++) q.schedule(i, 1_000_000 + i);
    for (let i = 0; i < 10; i++) q.schedule(200_000 + i, 100 + i);
    const due = q.takeExpired(500);
    expect(due.map(([k]) => k)).toEqual([...Array(10).keys()].map((i) => 200_000 + i));
    expect(q.size).toBe(100_000);
    expect(q.slots).toBe(100_000);
    expect(q.earliest()).toBe(1_000_000);
  });

  it('rescheduling one key over and over keeps the heap bounded (stale slots compacted)', () => {
    const q = new ExpiryQueue<string>();
    q.schedule('other', 1);
    for (let i = 0; i < 50_000; i++) q.schedule('hot', 10 + i);
    expect(q.size).toBe(2);
    expect(q.slots).toBeLessThanOrEqual(2 * q.size + 1024 + 1);
    expect(q.takeExpired(1_000_000)).toEqual([
      ['other', 1],
      ['hot', 50_009],
    ]);
  });

  it('agrees with a plain model on random schedules, cancels and takes', () => {
    type Op = { op: 'schedule'; key: number; until: number } | { op: 'cancel'; key: number } | { op: 'take'; now: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('schedule' as const), key: fc.integer({ min: 0, max: 30 }), until: fc.integer({ min: 0, max: 1000 }) }),
      fc.record({ op: fc.constant('cancel' as const), key: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ op: fc.constant('take' as const), now: fc.integer({ min: 0, max: 1000 }) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const q = new ExpiryQueue<number>();
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.op === 'schedule') {
            q.schedule(o.key, o.until);
            model.set(o.key, o.until);
          } else if (o.op === 'cancel') {
            expect(q.cancel(o.key)).toBe(model.delete(o.key));
          } else {
            const want = [...model.entries()].filter(([, u]) => u <= o.now);
            for (const [k] of want) model.delete(k);
            const got = q.takeExpired(o.now);
            expect(got.map(([, u]) => u)).toEqual([...got.map(([, u]) => u)].sort((a, b) => a - b));
            expect(new Map(got)).toEqual(new Map(want));
          }
          expect(q.size).toBe(model.size);
        }
      }),
    );
  });
});
