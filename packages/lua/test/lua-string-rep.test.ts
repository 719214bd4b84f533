import fc from 'fast-check';
import { LuaRuntime } from '@dnsdist-ts/lua/lua/lua-runtime.js';

describe('string.rep (built by doubling copies)', () => {
  const rt = new LuaRuntime(() => {});
  afterAll(() => rt.close());

  it('returns what Lua defines: n copies of s separated by sep', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 8 }),
        fc.integer({ min: -2, max: 40 }),
        fc.option(fc.string({ maxLength: 4 }), { nil: undefined }),
        (s, n, sep) => {
          rt.setGlobal('s', s);
          rt.setGlobal('sep', sep);
          const [got] = rt.runString(`return string.rep(s, ${n}, sep)`);
          expect(got).toBe(n <= 0 ? '' : Array.from({ length: n }, () => s).join(sep ?? ''));
        },
      ),
    );
  });

  it("keeps Lua's argument errors", () => {
    expect(() => rt.runString('return string.rep("x")')).toThrow(/bad argument #2 to 'rep' \(number expected, got no value\)/);
    expect(() => rt.runString('return string.rep("xx", 2147483647)')).toThrow(/resulting string too large/);
  });

  it('makes a 100 MB string', () => {
    expect(rt.runString('return #string.rep("ab", 50000000)')).toEqual([100_000_000]);
  });
});
