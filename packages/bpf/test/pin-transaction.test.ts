import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { BpfMap, BpfBusyError, BpfPinPathError, MapType, PinTransaction, type MapSpec } from '@dnsdist-ts/bpf';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';

const spec = (valueSize = 4): MapSpec => ({ type: MapType.Hash, keySize: 4, valueSize, maxEntries: 8 });
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const noCheck = () => {};
const idOf = (path: string) => {
  const m = BpfMap.openPinned(path);
  try {
    return m.info().id;
  } finally {
    m.close();
  }
};

describeBpf('PinTransaction', () => {
  const root = `/sys/fs/bpf/${uniqueName('dtsx')}`;
  const opened: BpfMap[] = [];
  const keep = (m: BpfMap) => (opened.push(m), m);
  afterEach(() => {
    for (const m of opened.splice(0)) m.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('plans without touching the file system, pins everything at commit, and undo removes only what it made', () => {
    mkdirSync(`${root}/old`, { recursive: true });
    const before = keep(BpfMap.create(spec()));
    before.pin(`${root}/old/before`);
    before.update(u32(1), u32(7));

    const t = new PinTransaction();
    const reused = t.openOrCreate(spec(), `${root}/old/before`, noCheck);
    keep(reused.map);
    expect(reused.reused).toBe(true);
    const a = keep(t.openOrCreate(spec(), `${root}/old/a`, noCheck).map);
    const b = keep(t.openOrCreate(spec(), `${root}/new/deeper/b`, noCheck).map);
    expect(readdirSync(`${root}/old`)).toEqual(['before']);
    expect(existsSync(`${root}/new`)).toBe(false);

    t.commit();
    expect(t.created).toEqual({ pins: [`${root}/old/a`, `${root}/new/deeper/b`], dirs: [`${root}/new`, `${root}/new/deeper`] });
    expect(idOf(`${root}/old/a`)).toBe(a.info().id);
    expect(idOf(`${root}/new/deeper/b`)).toBe(b.info().id);

    t.undo();
    expect(readdirSync(`${root}/old`)).toEqual(['before']);
    expect(existsSync(`${root}/new`)).toBe(false);
    expect(idOf(`${root}/old/before`)).toBe(before.info().id);
    expect(reused.map.lookup(u32(1))).toEqual(u32(7));
  });

  it('commit checks every path before making any pin', () => {
    const t = new PinTransaction();
    keep(t.openOrCreate(spec(), `${root}/first`, noCheck).map);
    keep(t.openOrCreate(spec(), `${root}/sub/second`, noCheck).map);
    // Something else pins at the second path meanwhile.
    keep(BpfMap.create(spec())).pin(`${root}/sub/second`);
    expect(() => t.commit()).toThrow(BpfBusyError);
    expect(existsSync(`${root}/first`)).toBe(false);
  });

  it('a path that cannot work is refused when planned, before a map is made', () => {
    const t = new PinTransaction();
    expect(() => t.openOrCreate(spec(), `/tmp/${uniqueName('dtsnb')}/m`, noCheck)).toThrow(BpfPinPathError);
    expect(t.plannedPaths).toEqual([]);
  });

  it('a path asked for twice gives handles on one map, checked; a closed map is not pinned', () => {
    const t = new PinTransaction();
    const first = keep(t.openOrCreate(spec(), `${root}/shared`, noCheck).map);
    const second = t.openOrCreate(spec(), `${root}/shared`, (m, source) => expect([source, m.valueSize]).toEqual(['planned', 4]));
    keep(second.map);
    expect(second.reused).toBe(true);
    expect(second.map.info().id).toBe(first.info().id);
    expect(() =>
      t.openOrCreate(spec(8), `${root}/shared`, (m) => {
        if (m.valueSize !== 8) throw new Error('wrong layout');
      }),
    ).toThrow('wrong layout');
    expect(() => t.plan(keep(BpfMap.create(spec())), `${root}/shared`)).toThrow(/another map of this configuration/);
    const dropped = t.openOrCreate(spec(), `${root}/dropped`, noCheck).map;
    dropped.close();
    t.commit();
    expect(t.created.pins).toEqual([`${root}/shared`]);
    expect(existsSync(`${root}/dropped`)).toBe(false);
  });

  it('a dry run checks, pins nothing, and writes to private copies of pinned maps', () => {
    mkdirSync(root);
    const pinned = keep(BpfMap.create(spec()));
    pinned.pin(`${root}/live`);
    pinned.update(u32(1), u32(7));

    const t = new PinTransaction({ dryRun: true });
    const copy = keep(t.openOrCreate(spec(), `${root}/live`, noCheck).map);
    expect(copy.info().id).not.toBe(pinned.info().id);
    expect(copy.lookup(u32(1))).toEqual(u32(7));
    copy.update(u32(2), u32(9));
    keep(t.openOrCreate(spec(), `${root}/new/m`, noCheck).map);
    t.commit();
    expect(t.created).toEqual({ pins: [], dirs: [] });
    expect(readdirSync(root)).toEqual(['live']);
    expect(pinned.lookup(u32(2))).toBeUndefined();
    // The checks are the real ones.
    const bad = new PinTransaction({ dryRun: true });
    expect(() => bad.openOrCreate(spec(), `/tmp/${uniqueName('dtsnb')}/m`, noCheck)).toThrow(BpfPinPathError);
  });

  it('undo leaves a pin that another map replaced meanwhile', () => {
    const t = new PinTransaction();
    keep(t.openOrCreate(spec(), `${root}/p`, noCheck).map);
    t.commit();
    rmSync(`${root}/p`);
    const other = keep(BpfMap.create(spec()));
    other.pin(`${root}/p`);
    t.undo();
    expect(idOf(`${root}/p`)).toBe(other.info().id);
  });
});
