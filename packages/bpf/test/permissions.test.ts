import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeBpf } from '../../../test/support/require-bpf.js';

// The built package (make builds dist/ before tests), run as an unprivileged
// user: LPM tries need CAP_BPF whatever kernel.unprivileged_bpf_disabled says.
const builtDist = fileURLToPath(new URL('../dist', import.meta.url));
const builtAddon = fileURLToPath(new URL('../build/Release/dnsdist_bpf.node', import.meta.url));

/** A world-readable copy of the built package: the checkout itself may sit in a private directory. */
function readableCopy(): { dir: string; index: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dts-perm-'));
  chmodSync(dir, 0o755);
  cpSync(builtDist, join(dir, 'dist'), { recursive: true });
  cpSync(builtAddon, join(dir, 'build', 'Release', 'dnsdist_bpf.node'));
  return { dir, index: join(dir, 'dist', 'index.js') };
}

function asNobody(script: string): { name: string; code: string; message: string } {
  const out = execFileSync(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      process.execPath,
      '--input-type=module',
      '-e',
      script,
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out) as { name: string; code: string; message: string };
}

describeBpf('privileges', () => {
  it('map creation without CAP_BPF is a BpfPermissionError that says what is needed', () => {
    expect(existsSync(builtDist)).toBe(true);
    const copy = readableCopy();
    let r: ReturnType<typeof asNobody>;
    try {
      r = asNobody(`
      import { BpfMap, MapType, MapFlags } from ${JSON.stringify(copy.index)};
      try {
        BpfMap.create({ type: MapType.LpmTrie, keySize: 8, valueSize: 8, maxEntries: 4, flags: MapFlags.NoPrealloc });
        console.log(JSON.stringify({ name: 'none' }));
      } catch (e) {
        console.log(JSON.stringify({ name: e.constructor.name, code: e.code, message: e.message }));
      }`);
    } finally {
      rmSync(copy.dir, { recursive: true, force: true });
    }
    expect(r.name).toBe('BpfPermissionError');
    expect(r.code).toBe('EPERM');
    expect(r.message).toMatch(/needs CAP_BPF and CAP_NET_ADMIN/);
    expect(r.message).toMatch(/is \/sys\/fs\/bpf a bpffs mount/);
  });
});
