/**
 * packaging/systemd/dnsdist-ts.service: systemd's own checker accepts it
 * (every key known, in the right section, the commands executable), and it
 * keeps the promises docs/install.md makes about it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { itRequires } from '../support/require.js';
import { systemdAnalyze } from '../support/requirements.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const unitPath = join(root, 'packaging', 'systemd', 'dnsdist-ts.service');
const unitText = readFileSync(unitPath, 'utf8');
const INSTALLED = '/usr/local/bin/dnsdist-ts';

/** The values of `key` in the unit, in order (a key may repeat). */
function values(key: string): string[] {
  return unitText
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

describe('packaging/systemd/dnsdist-ts.service', () => {
  itRequires('passes systemd-analyze verify without a warning', systemdAnalyze, () => {
    // verify checks that ExecStart's program exists: point it at this checkout's launcher.
    const dir = mkdtempSync(join(tmpdir(), 'dnsdist-ts-unit-'));
    try {
      const copy = join(dir, 'dnsdist-ts.service');
      writeFileSync(copy, unitText.replaceAll(INSTALLED, join(root, 'bin', 'dnsdist-ts')));
      const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8', timeout: 60_000 });
      expect({ status: r.status, stderr: r.stderr.trim() }).toEqual({ status: 0, stderr: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks the configuration, then runs supervised as the dedicated user with -u/-g', () => {
    const [pre] = values('ExecStartPre');
    const [start] = values('ExecStart');
    expect(pre).toMatch(new RegExp(`^${INSTALLED} --check-config .*-u _dnsdist-ts -g _dnsdist-ts$`));
    expect(start).toMatch(new RegExp(`^${INSTALLED} --supervised .*-u _dnsdist-ts -g _dnsdist-ts$`));
    expect(pre!.split(' ').filter((a) => a !== '--check-config')).toEqual(
      start!.split(' ').filter((a) => a !== '--supervised' && a !== '--disable-syslog'),
    );
    // Started as root for binding and pinning: no User= (the switch is -u/-g's).
    expect(values('User')).toEqual([]);
    expect(values('ExecReload')).toEqual([]);
    // dnsdist-ts sends READY=1 (packages/proxy/test/cli/service-notify.test.ts).
    expect(values('Type')).toEqual(['notify']);
  });

  it('grants what BPF needs, keeps bpffs writable and V8 able to compile', () => {
    const bounding = values('CapabilityBoundingSet')[0]!.split(' ');
    const ambient = values('AmbientCapabilities')[0]!.split(' ');
    expect(ambient).toEqual(expect.arrayContaining(['CAP_NET_BIND_SERVICE', 'CAP_BPF', 'CAP_NET_ADMIN']));
    expect(ambient).not.toContain('CAP_SYS_ADMIN');
    expect(ambient).not.toContain('CAP_SETUID');
    expect(bounding).toEqual(expect.arrayContaining([...ambient, 'CAP_SETUID', 'CAP_SETGID']));
    expect(values('ReadWritePaths')).toContain('/sys/fs/bpf');
    expect(values('ProtectKernelTunables')).toEqual([]);
    expect(values('MemoryDenyWriteExecute')).toEqual([]);
    expect(values('PrivateUsers')).toEqual([]);
    expect(values('RestrictAddressFamilies')[0]).toContain('AF_NETLINK');
  });
});
