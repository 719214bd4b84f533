import { mkdirSync, rmdirSync, statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { BpfError, BpfPinPathError, call } from './errors.js';
import { native } from './native.js';

/** statfs f_type of a bpffs mount (BPF_FS_MAGIC). */
const BPF_FS_MAGIC = 0xcafe4a11;

/** Where bpffs is conventionally mounted. */
export const BPFFS_ROOT = '/sys/fs/bpf';

/** The command that mounts bpffs where pins are expected. */
export const BPFFS_MOUNT_COMMAND = `mount -t bpf bpf ${BPFFS_ROOT}`;

/** True if `path` (an existing directory) lives on a bpffs mount. */
export function isOnBpffs(path: string): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/** What pinning at a path takes, as found by checkPinPath. */
export interface PinPathCheck {
  pinPath: string;
  /** The nearest existing ancestor of the pin: a directory on bpffs. */
  base: string;
  /** Directories to create below `base` before pinning, outermost first. */
  missing: string[];
}

function isBelow(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/**
 * Check, without creating anything, that a map can be pinned at `pinPath`:
 * walk up to the nearest existing ancestor and require it to be a
 * directory on bpffs. Directories missing below a bpffs directory may be
 * created (ensurePinParent does); nothing is ever created outside bpffs.
 *
 * mkdir -p is not used for this: on sysfs, where /sys/fs/bpf is an empty
 * directory until bpffs is mounted on it, mkdir fails with ENOENT even
 * though the parent exists, and Node's recursive mkdir retries that
 * forever at 100 % CPU.
 */
export function checkPinPath(pinPath: string): PinPathCheck {
  const missing: string[] = [];
  let dir = dirname(pinPath);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(dir).isDirectory();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT' && dirname(dir) !== dir) {
        missing.unshift(dir);
        dir = dirname(dir);
        continue;
      }
      throw new BpfPinPathError(`Unable to pin map to path '${pinPath}': cannot look at ${dir}: ${e.message}`, {
        code: e.code ?? 'EUNKNOWN',
        op: 'pin',
        target: pinPath,
        hint: 'check the pin path and its permissions',
      });
    }
    if (!isDir) {
      throw new BpfPinPathError(`Unable to pin map to path '${pinPath}': ${dir} is not a directory`, {
        code: 'ENOTDIR',
        op: 'pin',
        target: pinPath,
        hint: `choose a pin path below a directory on bpffs, or remove ${dir}`,
      });
    }
    if (!isOnBpffs(dir)) throw notOnBpffs(pinPath, dir);
    return { pinPath, base: dir, missing };
  }
}

function notOnBpffs(pinPath: string, base: string): BpfPinPathError {
  // Below /sys/fs/bpf, when /sys/fs/bpf itself (or what holds it) is not
  // bpffs, the fix is mounting bpffs there, not choosing another path.
  if (isBelow(pinPath, BPFFS_ROOT) && isBelow(BPFFS_ROOT, base)) {
    const hint = `mount it (${BPFFS_MOUNT_COMMAND}) and try again`;
    return new BpfPinPathError(`Unable to pin map to path '${pinPath}': no bpffs is mounted at ${BPFFS_ROOT}; ${hint}`, {
      code: 'ENOTBPFFS',
      op: 'pin',
      target: pinPath,
      hint,
    });
  }
  const hint = `choose a path below a bpffs mount such as ${BPFFS_ROOT} (${BPFFS_MOUNT_COMMAND})`;
  return new BpfPinPathError(
    `Unable to pin map to path '${pinPath}': ${base} is not on a bpffs mount, and maps are pinned only on bpffs; ${hint}`,
    {
      code: 'ENOTBPFFS',
      op: 'pin',
      target: pinPath,
      hint,
    },
  );
}

/** Remove directories this process created, innermost first; a directory that is not empty stays. */
export function removeCreatedDirs(dirs: readonly string[]): void {
  for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(dir);
    } catch {
      // Not empty (someone else put something there) or already gone: leave it.
    }
  }
}

/**
 * Create the missing parent directories of a pin path, below a bpffs
 * mount only (checkPinPath first: outside bpffs nothing is created).
 * Returns the directories it created, outermost first, for the caller to
 * remove should what they are for fail; on its own failure it removes
 * them before throwing.
 */
export function ensurePinParent(pinPath: string): string[] {
  const { missing } = checkPinPath(pinPath);
  const created: string[] = [];
  for (const dir of missing) {
    try {
      mkdirSync(dir, { mode: 0o700 });
      created.push(dir);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EEXIST') continue; // made meanwhile by someone else: theirs, not ours
      removeCreatedDirs(created);
      throw new BpfError(`cannot create pin directory ${dir}: ${e.message}`, {
        code: e.code ?? 'EUNKNOWN',
        op: 'create pin directory',
        target: dir,
        hint: 'creating directories on bpffs needs root (or write access to the parent directory)',
      });
    }
  }
  return created;
}

/**
 * Pin the object behind `fd` (a map or a program) at `pinPath`, creating
 * missing parent directories below the bpffs mount (ensurePinParent); a
 * failed pin removes them again before throwing. Returns the directories
 * it created, outermost first.
 */
export function pinObject(fd: number, pinPath: string): string[] {
  const created = ensurePinParent(pinPath);
  try {
    call('pin', pinPath, () => native().objPin(fd, pinPath));
  } catch (err) {
    removeCreatedDirs(created);
    throw err;
  }
  return created;
}
