import { mkdirSync, rmSync } from 'node:fs';
import { BPFFilter } from '@dnsdist-ts/bpf-filter';
import { DefaultBpfFilterRegistry } from '@dnsdist-ts/ebpf/ebpf/default-bpf-filter-registry.js';
import { loadConfigurationOutput } from '../support/proxy-harness.js';
import { describeDnsdist, dnsdistCheckConfig } from '../../../../test/support/dnsdist.js';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import { pinnedFilterLua17, rawEntries } from './ebpf-fixtures.js';

/** One configuration, run by dnsdist 1.7.3 and by dnsdist-ts: the eBPF part of a real deployment. */
const config = (dir: string) => `
  setLocal("127.0.0.1:0")
  bpf = ${pinnedFilterLua17(dir)}
  setDefaultBPFFilter(bpf)
  bpf:block(newCA("192.0.2.1"))
  bpf:block(newCA("2001:db8::1"), 2)
  bpf:block(newCA("192.0.2.2"), 0)
  bpf:blockQName(newDNSName("Evil.Example"), 16, 2)
  bpf:blockQName(newDNSName("any.example"))
  dbpf = newDynBPFFilter(bpf)
  dbpf:excludeRange("203.0.113.0/28")
  dbpf:block(newCA("203.0.113.7"), 60)
  dbpf:block(newCA("203.0.113.77"), 60)
  registerDynBPFFilter(dbpf)
  print("STATS>" .. bpf:getStats() .. "<STATS")
`;

const runOurs = loadConfigurationOutput;

describeBpf('eBPF configuration shared with dnsdist', () => {
  describeDnsdist('the same Lua through dnsdist 1.7.3 and dnsdist-ts', () => {
    const root = `/sys/fs/bpf/${uniqueName('dtsp')}`;
    const theirs = `${root}/dnsdist`;
    const ours = `${root}/ours`;
    beforeAll(() => mkdirSync(theirs, { recursive: true }));
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('fills the maps with the same entries, byte for byte', async () => {
      const r = dnsdistCheckConfig(config(theirs));
      expect(r.stdout).toContain('OK!');
      await runOurs(config(ours));
      for (const map of ['addr-v4', 'addr-v6', 'qnames']) {
        const a = rawEntries(`${theirs}/${map}`);
        expect(Object.keys(a).length).toBeGreaterThan(0);
        expect(rawEntries(`${ours}/${map}`)).toEqual(a);
      }
    });

    it('reads the maps dnsdist created, and dnsdist reads the dynamic blocks the sink adds to them', async () => {
      const stats = /STATS>([\s\S]*)<STATS/.exec((await runOurs(config(theirs))).join('\n'))![1]!;
      for (const line of [
        '192.0.2.1: 0',
        '192.0.2.2: 0',
        '[2001:db8::1]: 0',
        '203.0.113.77: 0',
        'evil.example. TXT: 0',
        'any.example. ANY: 0',
      ])
        expect(stats).toContain(line);

      const pinned = (name: string) => ({ maxItems: 64, pinnedPath: `${theirs}/${name}` });
      const filter = BPFFilter.fromArgs([pinned('addr-v4'), pinned('addr-v6'), pinned('qnames'), true]);
      const registry = new DefaultBpfFilterRegistry({ warn: () => {} });
      try {
        registry.set(filter);
        const until = performance.now() + 60_000;
        expect(registry.sink!.insert({ kind: 'address', address: Uint8Array.from([198, 51, 100, 9]), action: 'truncate', until })).toBe(
          true,
        );
      } finally {
        registry.close();
        filter.close();
      }
      const r = dnsdistCheckConfig(
        `setLocal("127.0.0.1:0")\nbpf = ${pinnedFilterLua17(theirs)}\nprint("STATS>" .. bpf:getStats() .. "<STATS")`,
      );
      expect(r.stdout).toContain('198.51.100.9: 0');
    });
  });
});
