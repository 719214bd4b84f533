import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeBpf } from '../../../test/support/require-bpf.js';

// The built package (make builds dist/ before tests), run as an unprivileged
// user: LPM tries need CAP_BPF whatever kernel.unprivileged_bpf_disabled says.
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

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
    expect(existsSync(dist)).toBe(true);
    const r = asNobody(`
      import { BpfMap, MapType, MapFlags } from ${JSON.stringify(dist)};
      try {
        BpfMap.create({ type: MapType.LpmTrie, keySize: 8, valueSize: 8, maxEntries: 4, flags: MapFlags.NoPrealloc });
        console.log(JSON.stringify({ name: 'none' }));
      } catch (e) {
        console.log(JSON.stringify({ name: e.constructor.name, code: e.code, message: e.message }));
      }`);
    expect(r.name).toBe('BpfPermissionError');
    expect(r.code).toBe('EPERM');
    expect(r.message).toMatch(/needs CAP_BPF and CAP_NET_ADMIN/);
    expect(r.message).toMatch(/is \/sys\/fs\/bpf a bpffs mount/);
  });
});
