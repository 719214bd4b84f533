import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { BpfMap, MapType, XdpAction } from '@dnsdist-ts/bpf';
import { NAME_INDEX_GUARDED, NAME_INDEX_PIN, NAME_INDEX_TRUSTED, NameIndex, nowNs } from '@dnsdist-ts/bpf-filter';
import { XdpFilter } from '../src/xdp-filter.js';
import { IndexGuard, checkIndexGuardOptions } from '../src/index-guard.js';
import { NameIndexMaintainer } from '../src/name-index-maintainer.js';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';
import { dnsNameArb } from './dns-name-arbitrary.js';
import { dnsQuery, frame } from './frames.js';
import { ACTION, encode, type RawEntry } from './raw-writer.js';

const { Drop, Pass } = XdpAction;
const cli = fileURLToPath(new URL('../../../bin/xdp-filter', import.meta.url));
const u32 = (n: number) => Buffer.from(Uint32Array.of(n).buffer);
const u64 = (n: bigint) => Buffer.from(BigUint64Array.of(n).buffer);
const tick = () => new Promise((r) => setTimeout(r, 2));

/** Write entries straight into the pinned maps through the bpf syscall, as a foreign process would (nothing marks the index). */
function writeRaw(dir: string, entries: RawEntry[]): void {
  for (const e of entries) {
    const m = BpfMap.openPinned(join(dir, e.map));
    try {
      const { key, value } = encode(e);
      m.update(key, value);
    } finally {
      m.close();
    }
  }
}

const nameArb = dnsNameArb({ mixedCase: false });

describeBpf('the name index guard', () => {
  let dir: string;
  let xdp: XdpFilter;
  let index: NameIndex;
  const guards: IndexGuard[] = [];
  const run = (name: string, qtype = 1) => xdp.program.testRun(frame({ payload: dnsQuery(name, qtype) })).retval;
  /** Until a scan that started after `since` has vouched for `parts` (each scan leaves its start time in the index). */
  const vouchedSince = async (since: bigint, parts: Array<'qnames' | 'suffixes'> = ['qnames', 'suffixes']) => {
    while (!parts.every((p) => index.vouchedSince(p, since))) await tick();
  };
  const startGuard = async (opts = {}) => {
    const since = nowNs();
    const g = IndexGuard.start(dir, opts);
    guards.push(g);
    await vouchedSince(since);
    return g;
  };

  beforeEach(() => {
    dir = `/sys/fs/bpf/${uniqueName('dtsig')}`;
    xdp = XdpFilter.load({ pinDir: dir });
    index = NameIndex.openIn(dir)!;
  });
  afterEach(() => {
    for (const g of guards.splice(0)) g.stop();
    index?.close();
    xdp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the program's rule: a guarded part rules names out only up to the jiffy its guard vouched for", () => {
    writeRaw(dir, [{ map: 'qnames', name: 'unmarked.example', qtype: 1, action: ACTION.drop }]);
    const set = (k: number, v: bigint) => index.map.update(u32(k), u64(v));
    set(1, NAME_INDEX_GUARDED);
    set(3, 0n); // vouched until jiffy 0: long past
    expect(run('unmarked.example')).toBe(Drop);
    set(3, 0xffffffffffffffffn); // vouched for ever: the index is used, and it does not know the entry
    expect(run('unmarked.example')).toBe(Pass);
    set(1, 0n); // off
    expect(run('unmarked.example')).toBe(Drop);
    set(1, NAME_INDEX_TRUSTED); // used whatever the guard says
    set(3, 0n);
    expect(run('unmarked.example')).toBe(Pass);
  });

  it('marks every entry foreign writers insert: random names and suffixes, enforced once a scan after the write vouched', async () => {
    await startGuard();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(nameArb, nameArb, async (name, below) => {
        const tag = n++;
        const blocked = `${name}`;
        writeRaw(dir, [
          { map: 'qnames', name: blocked, qtype: 255, action: ACTION.drop },
          { map: 'suffixes', name: `s${tag}.${name}`.slice(0, 250), action: ACTION.drop },
        ]);
        const written = nowNs();
        await vouchedSince(written);
        const sufName = `s${tag}.${name}`.slice(0, 250);
        const sub = `${below}.${sufName}`;
        const subFits = sub.length + 2 <= 255;
        const ok =
          run(blocked.toUpperCase(), 16) === Drop && run(sufName) === Drop && (!subFits || run(sub) === Drop) && index.state().qnames.inUse;
        writeRaw(dir, []);
        const q = BpfMap.openPinned(join(dir, 'qnames'));
        const s = BpfMap.openPinned(join(dir, 'suffixes'));
        try {
          q.delete(encode({ map: 'qnames', name: blocked, qtype: 255, action: 0 }).key);
          s.delete(encode({ map: 'suffixes', name: sufName, action: 0 }).key);
        } finally {
          q.close();
          s.close();
        }
        return ok;
      }),
      { numRuns: 60 },
    );
  });

  it('a suffix entry whose value does not name its key: the suffix part is no longer vouched for, and the entry is enforced', async () => {
    await startGuard();
    writeRaw(dir, [{ map: 'suffixes', name: 'nameless.example', action: ACTION.drop, nameInValue: false }]);
    while (index.state().suffixes.inUse) await tick(); // the last vouching lapses; none follows
    expect(run('x.nameless.example')).toBe(Drop);
    const st = index.state();
    expect(st.guard.unverifiedSuffixes).toBe(1);
    expect(st.qnames.inUse).toBe(true); // the qname part is still vouched for
  });

  it('a map larger than its scan budget is not vouched for: names are looked up', async () => {
    writeRaw(dir, [
      { map: 'qnames', name: 'one.example', qtype: 1, action: ACTION.drop },
      { map: 'qnames', name: 'two.example', qtype: 1, action: ACTION.drop },
      { map: 'qnames', name: 'three.example', qtype: 1, action: ACTION.drop },
    ]);
    const since = nowNs();
    guards.push(IndexGuard.start(dir, { maxEntries: 2 }));
    await vouchedSince(since, ['suffixes']);
    expect(index.state()).toMatchObject({ qnames: { inUse: false }, suffixes: { inUse: true }, guard: { qnameEntries: 0 } });
    writeRaw(dir, [{ map: 'qnames', name: 'four.example', qtype: 1, action: ACTION.drop }]);
    expect(run('four.example')).toBe(Drop);
  });

  it('refuses options whose bound would pass 100 ms, or that could never vouch', () => {
    expect(() => checkIndexGuardOptions({ freshMs: 95 })).toThrow(/freshMs must be above 0 and at most 90/);
    expect(() => checkIndexGuardOptions({ periodMs: 60 })).toThrow(/periodMs must be at least 1 and below freshMs \(60\)/);
    expect(() => checkIndexGuardOptions({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(checkIndexGuardOptions({})).toEqual({ periodMs: 20, freshMs: 60, maxEntries: 65536 });
  });

  it('the maintainer follows replaced pins: a re-created index is guarded again', async () => {
    const lines: string[] = [];
    const m = new NameIndexMaintainer({ info: (l) => lines.push(l), warn: (l) => lines.push(`WARN ${l}`) });
    try {
      const since = nowNs();
      m.keep([dir]);
      await vouchedSince(since);
      const first = m.guard(dir)!.mapIds;
      index.close();
      rmSync(join(dir, NAME_INDEX_PIN));
      xdp.close();
      xdp = XdpFilter.load({ pinDir: dir }); // a new index map
      index = NameIndex.openIn(dir)!;
      const again = nowNs();
      m.keep([dir]);
      expect(m.guard(dir)!.mapIds).not.toEqual(first);
      await vouchedSince(again);
      expect(lines.join('\n')).toMatch(/were replaced: restarting the name index guard/);
      m.keep([]);
      expect(m.dirs).toEqual([]);
    } finally {
      m.close();
    }
  });

  it('an index in the first layout is switched off (for a program still reading it) and replaced at load', () => {
    index.close();
    xdp.close();
    rmSync(join(dir, NAME_INDEX_PIN));
    const old = BpfMap.createPinned(
      { type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 3 + 2 * 4096 + 512 },
      join(dir, NAME_INDEX_PIN),
    );
    try {
      old.update(u32(0), u64(4096n));
      old.update(u32(1), u64(NAME_INDEX_TRUSTED));
      expect(() => IndexGuard.start(dir)).toThrow(/layout of an older version: attach the XDP filter again/);
      xdp = XdpFilter.load({ pinDir: dir });
      index = NameIndex.openIn(dir)!;
      expect(index.legacy).toBe(false);
      expect(old.lookup(u32(1))!.readBigUInt64LE(0)).toBe(0n);
    } finally {
      old.close();
    }
  });

  describe("'xdp-filter maintain'", () => {
    it('vouches while it runs; killed (SIGKILL), its guard ends with it and every name is looked up again', async () => {
      const since = nowNs();
      const child = spawn(cli, ['maintain', '--pin-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise((r) => child.once('exit', r));
      try {
        await vouchedSince(since);
        expect(out).toMatch(/Maintaining the XDP filter's name index in .*: a scan every 20 ms, each vouching for 60 ms/);
        const status = JSON.parse((await promisify(execFile)(cli, ['status', '--iface', 'lo', '--pin-dir', dir, '--json'])).stdout);
        expect(status.nameIndex.qnames).toMatchObject({ mode: 'guarded', inUse: true, assumes: expect.stringMatching(/^nothing/) });
        expect(status.nameIndex.guard).toMatchObject({ freshMs: 60, periodMs: 20 }); // a scan of these small maps needs no longer period
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      // Bounded: a guard that outlived its process would keep the part in use for ever.
      const deadline = Date.now() + 5000;
      while (index.state().qnames.inUse && Date.now() < deadline) await tick();
      expect(index.state().qnames.inUse).toBe(false);
      writeRaw(dir, [{ map: 'qnames', name: 'after.example', qtype: 255, action: ACTION.drop }]);
      expect(run('after.example')).toBe(Drop);
    });

    it('refuses bad options with a usage error', async () => {
      await expect(promisify(execFile)(cli, ['maintain', '--pin-dir', dir, '--fresh-ms', '200'])).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/freshMs must be above 0 and at most 90/),
      });
      await expect(promisify(execFile)(cli, ['reindex', '--pin-dir', dir, '--name-index', 'sometimes'])).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/--name-index must be auto, trusted or off, got 'sometimes'/),
      });
    });

    it("status says what each mode assumes; 'on' is the old name of 'trusted'", async () => {
      const exec = promisify(execFile);
      expect((await exec(cli, ['reindex', '--pin-dir', dir, '--name-index', 'on'])).stdout).toMatch(
        /names trusted \(in use\); suffixes trusted \(in use\)/,
      );
      const text = (await exec(cli, ['status', '--iface', 'lo', '--pin-dir', dir])).stdout;
      expect(text).toMatch(/names: +trusted \(in use\)\n +assumes every writer of the map is dnsdist-ts/);
      expect((await exec(cli, ['reindex', '--pin-dir', dir])).stdout).toMatch(/names guarded, not in use: no index guard has vouched/);
    });
  });
});
