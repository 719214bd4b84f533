/**
 * The BPF side of start-up, through bin/dnsdist-ts: the configuration's
 * pins are checked as a whole and made last; without bpffs the proxy
 * stops at once with the fix; --check-config creates nothing; a start
 * that fails removes what it made and never what was there before.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfMap, MapType } from '@dnsdist-ts/bpf';
import { ipv4Key } from '@dnsdist-ts/bpf-filter';
import { BIN, requireBuiltCli } from '../cli/cli-process.js';
import { runWithoutBpffs } from '../../../../test/support/no-bpffs.js';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import { pinnedFilterLua, pinnedFilterLua17 } from './ebpf-fixtures.js';

const MOUNT_FIX = 'mount -t bpf bpf /sys/fs/bpf';
/** Only detects a hang (the process is killed); not a speed limit. */
const HANG_MS = 20000;

function runBin(args: string[]): { status: number | null; stdout: string; stderr: string; timedOut: boolean } {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: HANG_MS, killSignal: 'SIGKILL' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, timedOut: (r.error as NodeJS.ErrnoException)?.code === 'ETIMEDOUT' };
}

/** A map pinned at `path` (external ipv4 layout unless given) holding 192.0.2.1; returns its id. */
function pinnedMap(path: string, valueSize = 16): number {
  const m = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize, maxEntries: 8 });
  try {
    m.update(ipv4Key(Uint8Array.from([192, 0, 2, 1])), Buffer.alloc(valueSize, 1));
    m.pin(path);
    return m.info().id;
  } finally {
    m.close();
  }
}

/** Id and entry count of the map pinned at `path`. */
function pinnedState(path: string): [number, number] {
  const m = BpfMap.openPinned(path);
  try {
    return [m.info().id, m.count()];
  } finally {
    m.close();
  }
}

describeBpf('BPF start-up: pins checked as a whole, made last, undone when the start fails', () => {
  const root = `/sys/fs/bpf/${uniqueName('dtsu')}`;
  let confDir: string;
  const conf = (text: string) => {
    const f = join(confDir, `${uniqueName('c')}.conf`);
    writeFileSync(f, text);
    return f;
  };

  beforeAll(() => {
    requireBuiltCli();
    confDir = mkdtempSync(join(tmpdir(), 'dts-bpf-startup-'));
  });
  afterAll(() => rmSync(confDir, { recursive: true, force: true }));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('without bpffs, start-up and --check-config stop at once (exit 1) naming the path and the mount command', () => {
    const f = conf(`setLocal("127.0.0.1:0")\nbpf = ${pinnedFilterLua17(`${root}/dnsdist`)}\nsetDefaultBPFFilter(bpf)\n`);
    const want = `${f}:2: Unable to pin map to path '${root}/dnsdist/addr-v4': no bpffs is mounted at /sys/fs/bpf; mount it (${MOUNT_FIX}) and try again`;

    const start = runWithoutBpffs([BIN, '-C', f], HANG_MS);
    expect(start.timedOut).toBe(false);
    expect(start.status).toBe(1);
    expect(start.stderr).toBe(`Fatal Lua error: ${want}\n`);

    // --check-config reports on stdout, as dnsdist does.
    const check = runWithoutBpffs([BIN, '-C', f, '--check-config'], HANG_MS);
    expect(check.timedOut).toBe(false);
    expect(check.status).toBe(1);
    expect(check.stdout).toBe(`Fatal Lua error: ${want}\n`);
    expect(existsSync(root)).toBe(false);
  });

  it('--check-config validates the pins and creates nothing; pinned maps are read, never written', () => {
    mkdirSync(`${root}/live`, { recursive: true });
    const id = pinnedMap(`${root}/live/addr-v4`);
    const f = conf(`
      setLocal("127.0.0.1:0")
      fresh = ${pinnedFilterLua(`${root}/fresh/dnsdist`)}
      live = newBPFFilter({maxItems=8, pinnedPath="${root}/live/addr-v4"}, 8, 8, true)
      setDefaultBPFFilter(live)
      live:block(newCA("192.0.2.77"))
      print("STATS>" .. live:getStats() .. "<STATS")
    `);
    // Other test files pin and unpin under /sys/fs/bpf meanwhile, so only the
    // default root is compared; everything this configuration names lies under root.
    const defaultRootBefore = existsSync('/sys/fs/bpf/dnsdist');
    const r = runBin(['-C', f, '--check-config']);
    expect(r.stdout).toContain(`Configuration '${f}' OK!`);
    expect(r.status).toBe(0);
    // What the configuration saw: the pinned entry, and its own block, in a private copy.
    expect(r.stdout).toContain('192.0.2.1: ');
    expect(r.stdout).toContain('192.0.2.77: 0');
    expect(existsSync('/sys/fs/bpf/dnsdist')).toBe(defaultRootBefore);
    expect(readdirSync(root)).toEqual(['live']);
    expect(readdirSync(`${root}/live`)).toEqual(['addr-v4']);
    expect(pinnedState(`${root}/live/addr-v4`)).toEqual([id, 1]);
  });

  it("a configuration whose second filter cannot use its pins fails, leaving none of the first filter's pins and the pre-existing pin intact", () => {
    mkdirSync(`${root}/old`, { recursive: true });
    const id = pinnedMap(`${root}/old/addr-v4`, 8); // legacy layout: value 8 B
    const f = conf(`
      setLocal("127.0.0.1:0")
      first = ${pinnedFilterLua(`${root}/first/dnsdist`)}
      second = newBPFFilter({maxItems=8, pinnedPath="${root}/old/addr-v4"}, {maxItems=8, pinnedPath="${root}/old/addr-v6"}, 8, true)
    `);
    for (const args of [
      ['-C', f],
      ['-C', f, '--check-config'],
    ]) {
      const r = runBin(args);
      expect(r.status).toBe(1);
      expect(r.stderr + r.stdout).toContain(`Error checking the eBPF map pinned at ${root}/old/addr-v4`);
      expect(readdirSync(root)).toEqual(['old']);
      expect(readdirSync(`${root}/old`)).toEqual(['addr-v4']);
      expect(pinnedState(`${root}/old/addr-v4`)).toEqual([id, 1]);
    }
  });

  it('an XDP filter whose pin directory is not on bpffs stops the configuration before any pin is made', () => {
    const outside = join(tmpdir(), uniqueName('dtsnb'));
    const f = conf(`
      setLocal("127.0.0.1:0")
      bpf = ${pinnedFilterLua17(`${root}/dnsdist`)}
      setDefaultBPFFilter(bpf)
      attachXDPFilter{interfaces={"lo"}, pinDir="${outside}"}
    `);
    for (const args of [
      ['-C', f],
      ['-C', f, '--check-config'],
    ]) {
      const r = runBin(args);
      expect(r.status).toBe(1);
      expect(r.stderr + r.stdout).toContain(`attachXDPFilter: Unable to pin map to path '${outside}/addr-v4'`);
      expect(r.stderr + r.stdout).toContain('is not on a bpffs mount');
      expect(existsSync(root)).toBe(false);
      expect(existsSync(outside)).toBe(false);
    }
  });

  it('a start that fails after the pins were made removes them and the directories it made, keeping what was there', () => {
    mkdirSync(`${root}/mixed`, { recursive: true });
    const id = pinnedMap(`${root}/mixed/addr-v4`);
    const missingIf = uniqueName('dtsnoif');
    const f = conf(`
      setLocal("127.0.0.1:0")
      bpf = ${pinnedFilterLua17(`${root}/mixed`)}
      setDefaultBPFFilter(bpf)
      other = ${pinnedFilterLua17(`${root}/made/deep`)}
      attachXDPFilter{interfaces={"${missingIf}"}, mode="generic"}
    `);
    const r = runBin(['-C', f]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(missingIf);
    // The filters' new pins, the XDP loader's maps (name index, suffixes, stats) and made/ are gone.
    expect(readdirSync(root)).toEqual(['mixed']);
    expect(readdirSync(`${root}/mixed`)).toEqual(['addr-v4']);
    expect(pinnedState(`${root}/mixed/addr-v4`)).toEqual([id, 1]);
  });
});
