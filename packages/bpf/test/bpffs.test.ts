import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpfMap, BpfPinPathError, MapType, checkPinPath, ensurePinParent } from '@dnsdist-ts/bpf';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';
import { runWithoutBpffs } from '../../../test/support/no-bpffs.js';

// The built package (make builds dist/ before tests): the child process runs plain node.
const builtIndex = fileURLToPath(new URL('../dist/index.js', import.meta.url));

const smallMap = () => BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 1 });

describeBpf('pin paths and bpffs', () => {
  const root = `/sys/fs/bpf/${uniqueName('dtsb')}`;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('without bpffs at /sys/fs/bpf, pinning fails at once, names the path and the mount command, and creates nothing', () => {
    expect(existsSync(builtIndex)).toBe(true);
    const path = `${root}/dnsdist/addr-v4`;
    const script = `
      import { existsSync } from 'node:fs';
      import { BpfMap, MapType } from ${JSON.stringify(builtIndex)};
      const m = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 1 });
      let out;
      try {
        m.pin(${JSON.stringify(path)});
        out = { name: 'none' };
      } catch (e) {
        out = { name: e.constructor.name, code: e.code, target: e.target, message: e.message };
      }
      out.created = existsSync(${JSON.stringify(root)});
      console.log(JSON.stringify(out));`;
    // The timeout only detects the old endless mkdir loop; it is not a speed limit.
    const r = runWithoutBpffs([process.execPath, '--input-type=module', '-e', script]);
    expect(r.timedOut).toBe(false);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out.name).toBe('BpfPinPathError');
    expect(out.code).toBe('ENOTBPFFS');
    expect(out.target).toBe(path);
    expect(out.message).toBe(
      `Unable to pin map to path '${path}': no bpffs is mounted at /sys/fs/bpf; mount it (mount -t bpf bpf /sys/fs/bpf) and try again`,
    );
    expect(out.created).toBe(false);
  });

  it('a pin path outside bpffs is refused before any directory is made', () => {
    const outside = `/tmp/${uniqueName('dtsnotbpf')}`;
    const m = smallMap();
    try {
      expect(() => m.pin(`${outside}/a/map`)).toThrow(BpfPinPathError);
      expect(() => m.pin(`${outside}/a/map`)).toThrow(/\/tmp is not on a bpffs mount.*mount -t bpf bpf \/sys\/fs\/bpf/);
      expect(existsSync(outside)).toBe(false);
    } finally {
      m.close();
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('checkPinPath lists the directories to make and makes none; ensurePinParent makes them below bpffs', () => {
    const path = `${root}/a/b/map`;
    expect(checkPinPath(path)).toEqual({ pinPath: path, base: '/sys/fs/bpf', missing: [root, `${root}/a`, `${root}/a/b`] });
    expect(existsSync(root)).toBe(false);
    expect(ensurePinParent(path)).toEqual([root, `${root}/a`, `${root}/a/b`]);
    expect(existsSync(`${root}/a/b`)).toBe(true);
    expect(ensurePinParent(path)).toEqual([]);
  });

  it('a file where a directory should be is ENOTDIR, named', () => {
    mkdirSync(root);
    const m = smallMap();
    try {
      m.pin(`${root}/plain`);
      expect(() => checkPinPath(`${root}/plain/map`)).toThrow(
        `Unable to pin map to path '${root}/plain/map': ${root}/plain is not a directory`,
      );
      // A regular file outside bpffs: the same check, before anything else.
      const file = `/tmp/${uniqueName('dtsfile')}`;
      writeFileSync(file, '');
      try {
        expect(() => checkPinPath(`${file}/map`)).toThrow(expect.objectContaining({ code: 'ENOTDIR' }) as Error);
      } finally {
        rmSync(file);
      }
    } finally {
      m.close();
    }
  });

  it('a pin that fails removes the directories it made, and only those', () => {
    mkdirSync(root);
    const m = smallMap();
    m.close(); // pinning a closed map fails after the directories were made
    expect(() => m.pin(`${root}/new/dir/map`)).toThrow(/is closed/);
    expect(existsSync(`${root}/new`)).toBe(false);
    expect(existsSync(root)).toBe(true);
  });
});
