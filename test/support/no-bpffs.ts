/**
 * Run a command as if bpffs were not mounted: in a private mount namespace
 * (unshare -m, propagation private) where every bpffs mount on
 * /sys/fs/bpf is unmounted, leaving the empty sysfs directory beneath, as
 * on a host that never mounted bpffs. The unmount stays inside the
 * namespace: the host's /sys/fs/bpf and its pins are not touched.
 */
import { spawnSync } from 'node:child_process';
import { BPFFS_ROOT } from '@dnsdist-ts/bpf';

export interface NoBpffsRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the command was killed for outliving the timeout (it hung). */
  timedOut: boolean;
}

/** Exit status of the wrapper when the namespace could not be prepared. */
const SETUP_FAILED = 97;

/**
 * `argv` run without bpffs. `timeoutMs` only detects a hang (the command
 * is killed and timedOut is set); it is not a speed limit.
 */
export function runWithoutBpffs(argv: string[], timeoutMs = 20000): NoBpffsRun {
  const script = [
    `while mountpoint -q ${BPFFS_ROOT}; do umount -R ${BPFFS_ROOT} || exit ${SETUP_FAILED}; done`,
    `[ "$(stat -f -c %T ${BPFFS_ROOT})" != bpf_fs ] || exit ${SETUP_FAILED}`,
    'exec "$@"',
  ].join('\n');
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'no-bpffs', ...argv], {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error;
  if (r.status === SETUP_FAILED) throw new Error(`could not unmount bpffs in a private mount namespace: ${r.stderr}`);
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout,
    stderr: r.stderr,
    timedOut: (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT',
  };
}
