import fc from 'fast-check';
import { TopK } from '@dnsdist-ts/web/web/top-k.js';

describe('TopK', () => {
  it('keeps the k highest scores, highest first, as a full sort would', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 300 }), fc.integer({ min: 0, max: 20 }), (scores, k) => {
        const t = new TopK<number>(k);
        scores.forEach((s, i) => t.add(i, s));
        const got = t.sorted().map(([, s]) => s);
        const want = [...scores].sort((a, b) => b - a).slice(0, k);
        expect(got).toEqual(want);
      }),
    );
  });

  it('keeps the earlier of equal scores', () => {
    const t = new TopK<string>(2);
    for (const name of ['a', 'b', 'c']) t.add(name, 1);
    expect(
      t
        .sorted()
        .map(([n]) => n)
        .sort(),
    ).toEqual(['a', 'b']);
  });
});
