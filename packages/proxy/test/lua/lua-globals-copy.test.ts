import { LuaGlobalsWatch, setLuaGlobal } from '@dnsdist-ts/lua/lua/lua-globals-copy.js';
import { LuaRuntime } from '@dnsdist-ts/lua/lua/lua-runtime.js';
import { DnsdistApp } from '../../src/app/dnsdist-app.js';
import { WorkerLuaGlobals, applyLuaGlobals } from '@dnsdist-ts/workers/workers/worker-lua-globals.js';

/** Two real Lua states: what changes in `from` is copied into `to`, as from the control plane to a worker. */
function pair(): { from: LuaRuntime; to: LuaRuntime; watch: LuaGlobalsWatch; copy: () => ReturnType<LuaGlobalsWatch['diff']> } {
  const from = new LuaRuntime(() => {});
  const to = new LuaRuntime(() => {});
  const watch = new LuaGlobalsWatch(from.L);
  return {
    from,
    to,
    watch,
    copy: () => {
      const diff = watch.diff();
      expect(applyLuaGlobals(to, diff.changed)).toEqual([]);
      return diff;
    },
  };
}

describe('copying Lua globals between two Lua states', () => {
  it('copies nil, booleans, integers, floats, byte strings and nested tables exactly', () => {
    const { from, to, copy } = pair();
    from.runString(`
      b = true
      i = 42
      neg = -7
      f = 1.5
      whole = 2.0
      negzero = -0.0
      inf = math.huge
      nan = 0/0
      bytes = "a\\0b\\128\\255:;{}"
      t = { answer = "192.0.2.42", list = { 1, 2, 3 }, [10] = false, nested = { deeper = { x = 1.25 } } }
    `);
    expect(copy().changed.map(([name]) => name)).toEqual(['b', 'bytes', 'f', 'i', 'inf', 'nan', 'neg', 'negzero', 't', 'whole']);
    const check = `
      return b == true, i == 42 and math.type(i) == "integer", neg == -7, f == 1.5,
        whole == 2 and math.type(whole) == "float", 1/negzero == -math.huge, inf == math.huge, nan ~= nan,
        bytes == "a\\0b\\128\\255:;{}" and #bytes == 9,
        t.answer == "192.0.2.42" and #t.list == 3 and t.list[3] == 3 and t[10] == false and t.nested.deeper.x == 1.25
    `;
    expect(to.runString(check)).toEqual(Array(10).fill(true));
  });

  it('sends only what changed, in-place table changes and deletions included', () => {
    const { from, to, copy } = pair();
    from.runString('a = 1 t = { n = 1 } keep = "same"');
    copy();
    expect(copy().changed).toEqual([]);
    from.runString('t.n = 2 a = nil');
    expect(copy().changed.map(([name, value]) => [name, value === null ? null : 'value'])).toEqual([
      ['a', null],
      ['t', 'value'],
    ]);
    expect(to.runString('return a, t.n, keep')).toEqual([undefined, 2, 'same']);
  });

  it('gives the same text for the same table contents, whatever order they were inserted in', () => {
    const { from, copy } = pair();
    from.runString('t = {} for i = 1, 50 do t["k" .. i] = i end');
    copy();
    from.runString('t = {} for i = 50, 1, -1 do t["k" .. i] = i end');
    expect(copy().changed).toEqual([]);
  });

  it('sees every change made in place, however deep, with nothing reported while nothing changes', () => {
    const { from, to, copy } = pair();
    from.runString(`
      deep = { a = { b = { c = { d = 1 } } } }
      kinds = { n = 1, s = "x", b = true }
      list = { 1, 2, 3 }
      nan = 0/0
      text = "same"
      mixed = { f = print }
    `);
    copy();
    for (let i = 0; i < 3; i++) expect(copy().changed).toEqual([]);
    const changedBy = (lua: string): string[] => {
      from.runString(lua);
      return copy().changed.map(([name]) => name);
    };
    expect(changedBy('deep.a.b.c.d = 2')).toEqual(['deep']);
    expect(changedBy('kinds.n = 1.0')).toEqual(['kinds']); // an integer became a float
    expect(changedBy('kinds.b = false kinds.s = "y"')).toEqual(['kinds']);
    expect(changedBy('list[4] = 4')).toEqual(['list']);
    expect(changedBy('list[4] = nil')).toEqual(['list']);
    // Set again to what it was: a new string, the same text.
    expect(changedBy('text = "sa" .. "me"')).toEqual([]);
    // A table holding a function changed in place into one that can be copied.
    expect(changedBy('mixed.f = nil mixed.x = 1')).toEqual(['mixed']);
    expect(to.runString('return deep.a.b.c.d, kinds.n, kinds.s, #list, mixed.x, math.type(kinds.n)')).toEqual([2, 1, 'y', 3, 1, 'float']);
  });

  it('reports a copied table that gets a metatable or a function in place as no longer copied', () => {
    const rt = new LuaRuntime(() => {});
    const watch = new LuaGlobalsWatch(rt.L);
    rt.runString('a = { x = 1 } b = { y = 2 }');
    watch.diff();
    rt.runString('setmetatable(a, {}) b.f = print');
    expect(watch.diff().uncopiable).toEqual([
      { name: 'a', why: 'holds a table with a metatable' },
      { name: 'b', why: 'holds a function' },
    ]);
    rt.runString('setmetatable(a, nil) b.f = nil');
    expect(watch.diff().changed.map(([name]) => name)).toEqual(['a', 'b']);
    rt.close();
  });

  it('names what cannot be copied (functions, userdata, cycles, metatables, deep nesting) and leaves the other state as it was', () => {
    const app = new DnsdistApp({ configFile: '/nonexistent/dnsdist.conf', output: () => {} });
    const to = new LuaRuntime(() => {});
    to.runString('fn = "before" ud = "before" cyc = "before" meta = "before" deep = "before"');
    try {
      const watch = new LuaGlobalsWatch(app.runtime.L);
      app.runtime.runString(`
        fn = function() end
        ud = { newCA("192.0.2.1") }
        cyc = {} cyc.self = cyc
        meta = setmetatable({}, {})
        deep = {} local d = deep for i = 1, 40 do d.next = {} d = d.next end
      `);
      const diff = watch.diff();
      expect(diff.changed).toEqual([]);
      expect(diff.uncopiable).toEqual(
        expect.arrayContaining([
          { name: 'fn', why: 'holds a function' },
          { name: 'ud', why: 'holds a userdata' },
          { name: 'cyc', why: 'holds a table that contains itself (a cycle)' },
          { name: 'meta', why: 'holds a table with a metatable' },
          { name: 'deep', why: 'holds tables nested deeper than 32' },
        ]),
      );
      expect(diff.uncopiable).toHaveLength(5);
      applyLuaGlobals(to, diff.changed);
      expect(to.runString('return fn, ud, cyc, meta, deep')).toEqual(Array(5).fill('before'));
      // Read again, unchanged: nothing to say.
      expect(watch.diff().uncopiable).toEqual([]);
    } finally {
      void app.stop();
      to.close();
    }
  });

  it('warns once per global set outside the console to what cannot be copied', () => {
    const rt = new LuaRuntime(() => {});
    const globals = new WorkerLuaGlobals(rt);
    rt.runString('toBlock = { [function() end] = 1 }');
    expect(globals.warnings(globals.diff())).toEqual([
      'Lua global "toBlock" was set outside the console to a value that holds a function: the data-plane workers keep their own value of it (only nil, booleans, numbers, strings and tables of them are copied to them)',
    ]);
    rt.runString('toBlock = { [function() end] = 2 }');
    expect(globals.warnings(globals.diff())).toEqual([]);
    rt.close();
  });

  it('keeps every change since the configuration for a worker started later', () => {
    const rt = new LuaRuntime(() => {});
    const globals = new WorkerLuaGlobals(rt);
    rt.runString('a = 1 b = 2');
    globals.diff();
    rt.runString('a = 3 b = nil');
    globals.diff();
    const late = new LuaRuntime(() => {});
    late.runString('a = 0 b = 0');
    expect(applyLuaGlobals(late, globals.current())).toEqual([]);
    expect(late.runString('return a, b')).toEqual([3, undefined]);
    rt.close();
    late.close();
  });

  it('refuses text that is not an encoded value, naming the global', () => {
    const rt = new LuaRuntime(() => {});
    expect(() => setLuaGlobal(rt.L, 'x', '{2:i1;')).toThrow(/^Lua global "x": not a copied value/);
    expect(() => setLuaGlobal(rt.L, 'x', 's99:ab')).toThrow(/bad string length/);
    expect(() => setLuaGlobal(rt.L, 'x', 'i1;junk')).toThrow(/trailing text/);
    expect(rt.runString('return x')).toEqual([undefined]);
    rt.close();
  });
});
