import { mkdirSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { BpfError } from './errors.js';

/** statfs f_type of a bpffs mount (BPF_FS_MAGIC). */
const BPF_FS_MAGIC = 0xcafe4a11;

/** Where bpffs is conventionally mounted. */
export const BPFFS_ROOT = '/sys/fs/bpf';

/** True if `path` (an existing directory) lives on a bpffs mount. */
export function isOnBpffs(path: string): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Create the parent directories of a pin path. Pinning fails with a bare
 * ENOENT when they are missing (dnsdist's users hit exactly that), and a
 * pin outside bpffs fails with EPERM, so both are checked with clear text.
 */
export function ensurePinParent(pinPath: string): void {
  const dir = dirname(pinPath);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BpfError(`cannot create pin directory ${dir}: ${e.message}`, {
      code: e.code ?? 'EUNKNOWN',
      op: 'create pin directory',
      target: dir,
      hint: 'is /sys/fs/bpf a bpffs mount (mount -t bpf bpf /sys/fs/bpf) and are you root?',
    });
  }
  if (!isOnBpffs(dir)) {
    throw new BpfError(`cannot pin at ${pinPath}: ${dir} is not on a bpffs mount`, {
      code: 'ENOTBPFFS',
      op: 'pin',
      target: pinPath,
      hint: 'pin paths must be below a bpffs mount such as /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)',
    });
  }
}
