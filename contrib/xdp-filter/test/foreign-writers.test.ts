/**
 * Every entry is enforced whoever wrote it: the same BPF_PROG_TEST_RUN
 * table with entries written by dnsdist-ts's own writers, by raw bpf
 * syscalls (bpftool, no dnsdist-ts code on the write path) and by Debian's
 * dnsdist 1.7.3 through its console, with the maps created by the filter's
 * loader first or by dnsdist first, in the default name-index mode:
 * - with no index guard running, from the first packet after the write;
 * - with an index guard running (the index in use when the entry is
 *   written, so a foreign entry is unmarked at first): address and range
 *   entries (no derived state) and everything dnsdist-ts's writers write
 *   (they mark the index) from the first packet; foreign name entries once
 *   a guard scan that started after the write has vouched for the index,
 *   and from then on not one pass. How soon that is, is measured by
 *   `make bench-xdp`.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { XdpAction } from '@dnsdist-ts/bpf';
import { MatchAction, NameIndex, nowNs } from '@dnsdist-ts/bpf-filter';
import { XdpFilter } from '../src/xdp-filter.js';
import { openPinnedFilter } from '../src/pinned-filter.js';
import type { IndexGuard } from '../src/index-guard.js';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';
import { describeDnsdist, startDnsdistWithConsole, type DnsdistWithConsole } from '../../../test/support/dnsdist.js';
import { dnsQuery, frame, type FrameSpec } from './frames.js';
import { ACTION, bpftoolWrite, type RawEntry } from './raw-writer.js';

const { Drop, Pass, Tx } = XdpAction;

type Writer = 'dnsdist-ts writers' | 'raw bpf syscalls (bpftool)' | 'dnsdist 1.7.3 console';
const WRITERS: Writer[] = ['dnsdist-ts writers', 'raw bpf syscalls (bpftool)', 'dnsdist 1.7.3 console'];

/** The entries of test `n`, and the table that checks them. dnsdist 1.7.3 has no range or suffix maps. */
function scenario(n: number, writer: Writer): { entries: RawEntry[]; table: Array<[string, FrameSpec, number]> } {
  const all = writer !== 'dnsdist 1.7.3 console';
  const host = 100 + n; // frames come from 198.51.100.1 / 2001:db8::1 by default: never blocked here
  const entries: RawEntry[] = [
    { map: 'addr-v4', address: `198.51.100.${host}`, action: ACTION.drop },
    { map: 'addr-v6', address: `2001:db8::${host}`, action: ACTION.drop },
    { map: 'qnames', name: `exact-${n}.example`, qtype: 1, action: ACTION.drop },
    { map: 'qnames', name: `any-${n}.example`, qtype: 255, action: ACTION.tc },
    { map: 'qnames', name: `any2x-${n}.example`, qtype: 65535, action: ACTION.drop },
  ];
  if (all)
    entries.push(
      { map: 'cidr4', address: `203.0.${n}.0`, prefix: 24, action: ACTION.drop },
      { map: 'cidr6', address: `2001:db8:${n}::`, prefix: 48, action: ACTION.drop },
      { map: 'suffixes', name: `suf-${n}.example`, action: ACTION.drop },
    );
  const q = (name: string, qtype = 1) => dnsQuery(name, qtype);
  const rows: Array<[string, FrameSpec, number]> = [
    ['IPv4 source', { src: `198.51.100.${host}` }, Drop],
    ['IPv6 source', { family: 6, src: `2001:db8::${host}` }, Drop],
    ['name, its qtype', { payload: q(`exact-${n}.example`) }, Drop],
    ['name, any type (255), TC', { payload: q(`Any-${n}.Example`, 16) }, Tx],
    ['name, any type (65535)', { payload: q(`any2x-${n}.example`, 28) }, Drop],
    ['name blocked for another qtype', { payload: q(`exact-${n}.example`, 28) }, Pass],
    ['unblocked name of the same length', { payload: q(`exabt-${n}.example`) }, Pass],
    ['unblocked source', { src: '198.51.100.250' }, Pass],
  ];
  if (all)
    rows.push(
      ['IPv4 range', { src: `203.0.${n}.9` }, Drop],
      ['IPv6 range', { family: 6, src: `2001:db8:${n}::9` }, Drop],
      ['suffix, a name below it', { payload: q(`a.b.suf-${n}.example`) }, Drop],
      ['suffix itself', { family: 6, payload: q(`suf-${n}.example`) }, Drop],
    );
  // Each row through the fast path (no tag) and through the full parser (a VLAN tag).
  const table = rows.flatMap(([name, spec, verdict]): Array<[string, FrameSpec, number]> => [
    [name, spec, verdict],
    [`${name}, VLAN`, { ...spec, vlans: 1 }, verdict],
  ]);
  return { entries, table };
}

const lua = (e: RawEntry): string => {
  if (e.map === 'addr-v4' || e.map === 'addr-v6') return `bpf:block(newCA("${e.address}"), ${e.action})`;
  if (e.map === 'qnames') return `bpf:blockQName(newDNSName("${e.name}"), ${e.qtype}, ${e.action})`;
  throw new Error(`dnsdist 1.7.3 cannot write ${e.map}`);
};

describeBpf('entries are enforced whoever wrote them (default name-index mode)', () => {
  /** Foreign name entries with a guard running: how long each passed (reported, not asserted: see make bench-xdp). */
  const latencies: string[] = [];
  afterAll(() => {
    if (latencies.length) process.stdout.write(`name entry enforced after the write, guard running:\n  ${latencies.join('\n  ')}\n`);
  });
  describeDnsdist('maps shared with dnsdist', () => {
    for (const order of ['filter first', 'dnsdist first'] as const) {
      describe(`maps created ${order === 'filter first' ? "by the filter's loader" : 'by dnsdist 1.7.3'}`, () => {
        const dir = `/sys/fs/bpf/${uniqueName('dtsfw')}`;
        const dnsdistConfig = () => {
          const p = (pin: string) => `{maxItems=1024, pinnedPath="${dir}/${pin}"}`;
          return `bpf = newBPFFilter(${p('addr-v4')}, ${p('addr-v6')}, ${p('qnames')}, true)`;
        };
        let xdp: XdpFilter;
        let dnsdist: DnsdistWithConsole;
        let index: NameIndex;
        let guard: IndexGuard | undefined;
        let n = 0;

        beforeAll(async () => {
          if (order === 'dnsdist first') {
            mkdirSync(dir, { recursive: true });
            dnsdist = await startDnsdistWithConsole(dnsdistConfig());
            xdp = XdpFilter.load({ pinDir: dir });
          } else {
            xdp = XdpFilter.load({ pinDir: dir });
            dnsdist = await startDnsdistWithConsole(dnsdistConfig());
          }
          index = NameIndex.openIn(dir)!;
        });
        afterEach(() => {
          guard?.stop();
          guard = undefined;
        });
        afterAll(async () => {
          index?.close();
          await dnsdist?.stop();
          xdp?.close();
          rmSync(dir, { recursive: true, force: true });
        });

        const write = async (writer: Writer, entries: RawEntry[]): Promise<void> => {
          if (writer === 'raw bpf syscalls (bpftool)') return bpftoolWrite(dir, entries);
          if (writer === 'dnsdist 1.7.3 console') {
            await dnsdist.run(entries.map(lua).join('; '));
            return;
          }
          const { filter, suffixes } = openPinnedFilter(dir);
          try {
            for (const e of entries) {
              const action = e.action as MatchAction;
              if (e.map === 'addr-v4' || e.map === 'addr-v6') filter.block(e.address, action);
              else if (e.map === 'cidr4' || e.map === 'cidr6') filter.addRangeRule(`${e.address}/${e.prefix}`, action, true);
              else if (e.map === 'qnames') filter.blockQName(e.name, e.qtype, action);
              else suffixes.block(e.name, action);
            }
          } finally {
            filter.close();
            suffixes.close();
          }
        };
        /** Rows whose verdict is not the expected one. */
        const misses = (table: Array<[string, FrameSpec, number]>) =>
          table.filter(([, spec, verdict]) => xdp.program.testRun(frame(spec)).retval !== verdict).map(([name]) => name);
        /** Until a guard scan that started after `since` has vouched for both parts (each scan leaves its start in the index). */
        const vouchedSince = async (since: bigint) => {
          while (!index.vouchedSince('qnames', since) || !index.vouchedSince('suffixes', since)) await new Promise((r) => setTimeout(r, 2));
        };
        /** Until no earlier guard's vouching holds any more: the state with no maintainer alive. */
        const stale = async () => {
          while (index.state().qnames.inUse || index.state().suffixes.inUse) await new Promise((r) => setTimeout(r, 5));
        };

        for (const writer of WRITERS) {
          it(`${writer}, no index guard running: every entry enforced from the first packet`, async () => {
            const { entries, table } = scenario(++n, writer);
            await stale();
            await write(writer, entries);
            expect(misses(table)).toEqual([]);
          });

          it(`${writer}, index guard running: addresses (and all dnsdist-ts writes) from the first packet, foreign names once a scan after the write vouched`, async () => {
            const { entries, table } = scenario(++n, writer);
            const started = nowNs();
            guard = xdp.guard();
            await vouchedSince(started);
            const st = index.state();
            expect([st.qnames.inUse, st.suffixes.inUse]).toEqual([true, true]); // the index rules names out
            await write(writer, entries);
            const written = nowNs();
            const names = /name|suffix/;
            const immediate = writer === 'dnsdist-ts writers' ? table : table.filter(([name]) => !names.test(name));
            expect(misses(immediate)).toEqual([]);
            // The program run in a loop until it drops the exact-qtype name: how long a foreign entry passed.
            const [, exact] = table.find(([name]) => name === 'name, its qtype')!;
            const probe = frame(exact);
            let runs = 0;
            while (xdp.program.testRun(probe).retval !== Drop) {
              runs++;
              if (runs % 256 === 0) await new Promise((r) => setImmediate(r));
              if (Number(nowNs() - written) > 5e9) break; // far past any bound: the check below fails
            }
            latencies.push(`${writer}, ${order}: ${(Number(nowNs() - written) / 1e6).toFixed(1)} ms, ${runs} runs passed`);
            await vouchedSince(written);
            expect(misses(table)).toEqual([]);
            expect(index.state().qnames.inUse).toBe(true);
          });
        }
      });
    }
  });
});
