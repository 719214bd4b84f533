/**
 * bpfUnavailable(dir) from a configuration, through bin/dnsdist-ts
 * --check-config (which prints only print() output): nil where this process
 * can pin maps there and attach XDP, else one line saying why, for each
 * way a machine falls short (not root, no CAP_NET_ADMIN, no bpffs, a pin
 * directory outside bpffs). It creates no pin.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, requireBuiltCli } from '../cli/cli-process.js';
import { runWithoutBpffs } from '../../../../test/support/no-bpffs.js';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import { makeTraversable } from '../../../../test/support/traversable.js';

describeBpf('bpfUnavailable(dir): whether kernel enforcement can work here, and why not', () => {
  let dir: string;
  let conf: string;
  const pins = `/sys/fs/bpf/${uniqueName('dtsav')}/demo`;
  /** What the configuration prints for bpfUnavailable(pinDir), run through `wrap` (argv prefix). */
  const verdict = (wrap: string[], pinDir = pins) => {
    writeFileSync(conf, `print("verdict: " .. tostring(bpfUnavailable("${pinDir}")))\nnewServer("192.0.2.1")\n`);
    const argv = [...wrap, BIN, '--check-config', '-C', conf];
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20000 });
    expect(r.stdout).toContain(`Configuration '${conf}' OK!`);
    return /^verdict: (.*)$/m.exec(r.stdout)?.[1];
  };

  let restoreModes: () => void = () => {};
  beforeAll(() => {
    requireBuiltCli();
    // The unprivileged run must reach bin/dnsdist-ts and the built CLI, wherever the checkout is.
    restoreModes = makeTraversable();
    dir = mkdtempSync(join(tmpdir(), 'dts-avail-'));
    chmodSync(dir, 0o755); // the unprivileged run reads the configuration too
    conf = join(dir, 'avail.conf');
  });
  afterAll(() => {
    restoreModes();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is nil for root with bpffs, and pins nothing', () => {
    expect(verdict([])).toBe('nil');
    expect(existsSync(pins)).toBe(false);
  });

  it('says not root for an unprivileged user', () => {
    expect(verdict(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'])).toBe(
      'this process cannot create BPF maps: not root (uid 65534), EPERM; run as root',
    );
  });

  it('says CAP_NET_ADMIN is missing when only that capability is dropped', () => {
    expect(verdict(['capsh', '--drop=cap_net_admin', '--'])).toBe('this process lacks CAP_NET_ADMIN, which attaching an XDP program needs');
  });

  it('names the mount command without bpffs', () => {
    writeFileSync(conf, `print("verdict: " .. tostring(bpfUnavailable("${pins}")))\nnewServer("192.0.2.1")\n`);
    const r = runWithoutBpffs([BIN, '--check-config', '-C', conf]);
    expect(/^verdict: (.*)$/m.exec(r.stdout)?.[1]).toBe(
      'no bpffs is mounted at /sys/fs/bpf; mount it (mount -t bpf bpf /sys/fs/bpf) and try again',
    );
  });

  it('says a pin directory outside bpffs is not on bpffs', () => {
    expect(verdict([], join(dir, 'pins'))).toMatch(/bpffs/);
  });
});
