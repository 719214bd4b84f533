import fc from 'fast-check';
import { PacketCache } from '@dnsdist-ts/dataplane/cache/index.js';
import { burtle, burtleByte } from '@dnsdist-ts/dataplane/cache/byte-hash.js';
import { a, decode, query, response } from './cache-fixtures.js';

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

/** An ECS option for a /32 IPv4 source, scope 0. */
function ecs32(address: number[]): { code: number; data: Buffer } {
  return { code: 8, data: Buffer.from([0, 1, 32, 0, ...address]) };
}

describe('cache keys are dnsdist 1.7’s (lookup2 chained over the packet)', () => {
  // Found by a birthday search over 198.18.0.0/15 with this name, A, payload 1232, over UDP:
  // both queries hash to 3943030352, as they do in dnsdist (its dump prints the same keys,
  // see dnsdist-parity.test.ts).
  const TWIN_NAME = 'twins.cache-key.test';
  const FIRST = [198, 18, 6, 32];
  const SECOND = [198, 18, 82, 249];

  it('gives two queries that differ only in their ECS address the same key when the hash collides', () => {
    const pc = new PacketCache(100);
    const first = query(TWIN_NAME, 'A', { options: [ecs32(FIRST)] });
    const second = query(TWIN_NAME, 'A', { options: [ecs32(SECOND)] });
    expect(pc.computeKey(first)).toBe(3943030352);
    expect(pc.computeKey(second)).toBe(3943030352);
    // A neighbouring address does not collide.
    expect(pc.computeKey(query(TWIN_NAME, 'A', { options: [ecs32([198, 18, 6, 33])] }))).not.toBe(3943030352);
  });

  it('without parseECS, answers the second ECS query from the first one’s entry, as dnsdist does', () => {
    const pc = new PacketCache(100);
    const first = query(TWIN_NAME, 'A', { options: [ecs32(FIRST)] });
    const second = query(TWIN_NAME, 'A', { options: [ecs32(SECOND)] });
    expect(pc.insert(first, pc.computeKey(first), response(first, { answers: [a(TWIN_NAME, 600, '192.0.2.61')] }))).toBe(true);
    const hit = pc.lookup(second, pc.computeKey(second));
    expect(hit).toBeDefined();
    expect((decode(hit!).answers![0] as { data: string }).data).toBe('192.0.2.61');
    expect(pc.getStats()).toMatchObject({ hits: 1, lookupCollisions: 0 });
  });

  it('with parseECS, detects the same collision and counts it', () => {
    const pc = new PacketCache(100, { parseECS: true });
    const first = query(TWIN_NAME, 'A', { options: [ecs32(FIRST)] });
    const second = query(TWIN_NAME, 'A', { options: [ecs32(SECOND)] });
    pc.insert(first, pc.computeKey(first), response(first, { answers: [a(TWIN_NAME, 600)] }));
    expect(pc.lookup(second, pc.computeKey(second))).toBeUndefined();
    expect(pc.insert(second, pc.computeKey(second), response(second, { answers: [a(TWIN_NAME, 600)] }))).toBe(false);
    expect(pc.getStats()).toMatchObject({ hits: 0, misses: 0, lookupCollisions: 1, insertCollisions: 1 });
  });

  it('tells two names that share a key apart, counting a collision instead of a hit', () => {
    // Another birthday-search pair: host-<n>.cache-key.test, A, no EDNS, both hashing to 1000977104.
    const pc = new PacketCache(100);
    const owner = query('host-15047.cache-key.test', 'A');
    const other = query('host-64042.cache-key.test', 'A');
    expect(pc.computeKey(owner)).toBe(1000977104);
    expect(pc.computeKey(other)).toBe(1000977104);
    pc.insert(owner, pc.computeKey(owner), response(owner, { answers: [a('host-15047.cache-key.test', 600)] }));
    expect(pc.lookup(other, pc.computeKey(other))).toBeUndefined();
    expect(pc.getStats()).toMatchObject({ hits: 0, misses: 0, lookupCollisions: 1 });
  });

  it('chains lookup2 per range: the split points change the value; burtleByte is a 1-byte range', () => {
    const bytes = Uint8Array.from({ length: 40 }, (_, i) => (i * 37 + 11) & 0xff);
    expect(burtle(bytes, 0, 40, 0)).not.toBe(burtle(bytes, 12, 40, burtle(bytes, 0, 12, 0)));
    expect(burtleByte(1, 12345)).toBe(burtle(Uint8Array.of(1), 0, 1, 12345));
    expect(burtleByte(0, 0xffffffff)).toBe(burtle(Uint8Array.of(0), 0, 1, 0xffffffff));
  });
});
