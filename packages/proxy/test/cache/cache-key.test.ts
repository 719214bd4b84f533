import fc from 'fast-check';
import { PacketCache } from '../../src/cache/index.js';
import { query } from './cache-fixtures.js';

const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,20}$/);
const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((labels) => labels.join('.'));

function flipCase(text: string, mask: number): string {
  return [...text].map((c, i) => ((mask >>> (i % 31)) & 1 ? c.toUpperCase() : c.toLowerCase())).join('');
}

describe('cache keys', () => {
  const pc = new PacketCache(100);

  it('ignore the query ID and the case of the name', () => {
    fc.assert(
      fc.property(name, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0x7fffffff }), (n, id, mask) => {
        expect(pc.computeKey(query(flipCase(n, mask), 'A', { id }))).toBe(pc.computeKey(query(n.toLowerCase(), 'A', { id: 1 })));
      }),
    );
  });

  it('tell different names apart', () => {
    fc.assert(
      fc.property(name, name, (x, y) => {
        fc.pre(x.toLowerCase() !== y.toLowerCase());
        expect(pc.computeKey(query(x, 'A'))).not.toBe(pc.computeKey(query(y, 'A')));
      }),
    );
  });

  it('change with any bit of the header besides the ID', () => {
    const dq = query('bits.example', 'A');
    const base = pc.computeKey(dq);
    const seen = new Set([base]);
    for (let byte = 2; byte < 4; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        dq.packet[byte]! ^= 1 << bit;
        seen.add(pc.computeKey(dq));
        dq.packet[byte]! ^= 1 << bit;
      }
    }
    expect(seen.size).toBe(17);
    expect(pc.computeKey(dq)).toBe(base);
  });
});
