/**
 * The proxy keeps the XDP filter's name index guarded while it runs (so
 * the default name-index mode can use it whoever writes the maps), and
 * only while it runs: after it stops, or dies, every name is looked up, so
 * a dnsdist 1.7.3 taking over the same pins has what it blocks enforced at
 * once.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfMap, XdpAction } from '@dnsdist-ts/bpf';
import { NameIndex, externalQNameKey, nowNs } from '@dnsdist-ts/bpf-filter';
import { DNSName } from '@dnsdist-ts/dns';
import { XdpFilter } from '@dnsdist-ts/xdp-filter';
import { dnsQuery, frame } from '../../../../contrib/xdp-filter/test/frames.js';
import { startProxy } from '../support/proxy-harness.js';
import { exited, startCli } from '../cli/cli-process.js';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import { describeDnsdist, startDnsdistWithConsole } from '../../../../test/support/dnsdist.js';
import { pinnedFilterLua } from './ebpf-fixtures.js';

const { Drop } = XdpAction;
const tick = () => new Promise((r) => setTimeout(r, 2));

/** A qname entry written through the bpf syscall by no dnsdist-ts writer: nothing marks the index. */
function writeForeign(dir: string, name: string): void {
  const m = BpfMap.openPinned(join(dir, 'qnames'));
  try {
    const v = Buffer.alloc(16);
    v[8] = 1;
    m.update(externalQNameKey(DNSName.fromString(name).toWire(), 255), v);
  } finally {
    m.close();
  }
}

describeBpf("the proxy guards the XDP filter's name index", () => {
  let dir: string;
  let xdp: XdpFilter | undefined;
  let index: NameIndex | undefined;
  const run = (name: string) => xdp!.program.testRun(frame({ payload: dnsQuery(name, 1) })).retval;
  const inUse = () => index!.state().qnames.inUse;
  /** Bounded wait for a state the guard's scans (or their end) bring about. */
  const until = async (what: () => boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!what() && Date.now() < deadline) await tick();
    return what();
  };

  beforeEach(() => {
    dir = `/sys/fs/bpf/${uniqueName('dtspg')}`;
  });
  afterEach(() => {
    index?.close();
    xdp?.close();
    index = xdp = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('in process: guards the index next to its pinned external maps (created after it started) while it runs, not after stop', async () => {
    const proxy = await startProxy(`
      setLocal("127.0.0.1:\${PORT}")
      bpf = ${pinnedFilterLua(dir, 1024)}
      setDefaultBPFFilter(bpf)
    `);
    try {
      // The XDP filter attached next to the running proxy (as `xdp-filter attach` does): the proxy finds the new index.
      const since = nowNs();
      xdp = XdpFilter.load({ pinDir: dir });
      index = NameIndex.openIn(dir)!;
      expect(await until(() => index!.vouchedSince('qnames', since))).toBe(true);
      expect(proxy.app.ebpf.guardedNameIndexes).toEqual([dir]);
      expect(proxy.output.join('\n')).toMatch(/Maintaining the XDP filter's name index in/);
      writeForeign(dir, 'foreign.example');
      const written = nowNs();
      expect(await until(() => index!.vouchedSince('qnames', written))).toBe(true);
      expect(run('foreign.example')).toBe(Drop);
    } finally {
      await proxy.stop();
    }
    expect(await until(() => !inUse())).toBe(true);
    writeForeign(dir, 'after-stop.example');
    expect(run('after-stop.example')).toBe(Drop);
  });

  describeDnsdist('rollback to dnsdist 1.7.3', () => {
    it('dnsdist-ts running, then killed; dnsdist 1.7.3 on the same pins blocks a new name through its console: dropped from the first packet', async () => {
      const confDir = mkdtempSync(join(tmpdir(), 'dts-rollback-'));
      const conf = join(confDir, 'dnsdist.conf');
      writeFileSync(
        conf,
        `setLocal("127.0.0.1:0")\nbpf = ${pinnedFilterLua(dir, 1024)}\nsetDefaultBPFFilter(bpf)\nbpf:blockQName(newDNSName("old.example"))\n`,
      );
      xdp = XdpFilter.load({ pinDir: dir });
      index = NameIndex.openIn(dir)!;
      const since = nowNs();
      const { child } = await startCli(['--supervised', '-C', conf], /Listening on 127\.0\.0\.1:\d+/);
      try {
        expect(await until(() => index!.vouchedSince('qnames', since))).toBe(true);
        expect(run('old.example')).toBe(Drop);
      } finally {
        child.kill('SIGKILL'); // no clean-up code runs: the kernel ends the guard with the process
        await exited(child);
        rmSync(confDir, { recursive: true, force: true });
      }
      expect(await until(() => !inUse())).toBe(true);
      const p = (pin: string) => `{maxItems=1024, pinnedPath="${dir}/${pin}"}`;
      const dnsdist = await startDnsdistWithConsole(`bpf = newBPFFilter(${p('addr-v4')}, ${p('addr-v6')}, ${p('qnames')}, true)`);
      try {
        await dnsdist.run('bpf:blockQName(newDNSName("New.Example"), 1)');
        expect(run('new.example')).toBe(Drop);
        expect(run('old.example')).toBe(Drop);
        // The hit the filter counted, as dnsdist itself reports it.
        expect(await dnsdist.run('bpf:getStats()')).toMatch(/new\.example\. \S+: 1/);
      } finally {
        await dnsdist.stop();
      }
    });
  });
});
