import { LuaBytes } from '@dnsdist-ts/lua/lua/lua-bytes.js';
import { LuaRuntime } from '@dnsdist-ts/lua/lua/lua-runtime.js';
import { LuaTable } from '@dnsdist-ts/lua/lua/lua-table.js';
import { CannotRebuildError, luaCallText, luaLiteral, type ObjectText } from '@dnsdist-ts/workers/workers/lua-call-text.js';

/** Objects written by name, as the recorder writes a global; "secret" cannot be written. */
const byName: ObjectText = (obj, self) => {
  const name = (obj as { name?: string }).name;
  if (name === 'secret') throw new CannotRebuildError('an object of unknown origin');
  return self ? `${name}` : `make(${JSON.stringify(name)})`;
};

describe('a call written as Lua text', () => {
  it('writes nil, booleans, numbers and strings as literals, odd bytes escaped', () => {
    expect(luaLiteral(undefined, byName)).toBe('nil');
    expect(luaLiteral(true, byName)).toBe('true');
    expect(luaLiteral(5, byName)).toBe('5');
    expect(luaLiteral(-1.5, byName)).toBe('(-1.5)');
    expect(luaLiteral(Infinity, byName)).toBe('(1/0)');
    expect(luaLiteral(Number.NaN, byName)).toBe('(0/0)');
    expect(luaLiteral('a"b\\c\n', byName)).toBe('"a\\034b\\092c\\010"');
    expect(luaLiteral(new LuaBytes(Uint8Array.from([0xff, 0x31])), byName)).toBe('"\\2551"');
  });

  it('writes tables with their keys, objects by the text given for them, and refuses a function', () => {
    const t = new LuaTable();
    t.entries.set(1, 'x.');
    t.entries.set('ttl', 60);
    t.entries.set('rule', { name: 'r' });
    expect(luaLiteral(t, byName)).toBe('{[1]="x.", ["ttl"]=60, ["rule"]=make("r")}');
    const fn = { call: () => [] };
    expect(luaCallText('addAction', ['x.', fn], byName)).toEqual({ position: 2, why: 'a Lua function' });
    expect(luaCallText('addAction', ['x.', { name: 'secret' }], byName)).toEqual({ position: 2, why: 'an object of unknown origin' });
  });

  it('leaves trailing nils out, keeps the ones in between, and writes a method on its object', () => {
    expect(luaCallText('rmRule', [0, undefined, undefined], byName)).toBe('rmRule(0)');
    expect(luaCallText('f', [undefined, 1], byName)).toBe('f(nil, 1)');
    expect(luaCallText('NetmaskGroup:addMask', [{ name: 'blocked' }, '10.0.0.0/8'], byName)).toBe('blocked:addMask("10.0.0.0/8")');
    expect(luaCallText('NetmaskGroup:addMask', [{ name: 'secret' }, '10.0.0.0/8'], byName)).toEqual({
      position: 0,
      why: 'an object of unknown origin',
    });
  });

  it('reads back in another Lua state as the same value (real Lua)', () => {
    const from = new LuaRuntime(() => {});
    const to = new LuaRuntime(() => {});
    const source = `return {1, 2.5, -0.25, "x\\0y\\255", true, {nested = {deep = "z"}}, [10] = false, ["key with space"] = 1e300}`;
    const value = from.runString(source)[0] as LuaTable;
    const text = luaLiteral(value, byName);
    expect(to.runString(`return ${text}`)[0]).toEqual(value);
  });
});
