/**
 * A command run in a network and mount namespace of its own (unshare
 * --net --mount), with its own loopback (up) and, as asked, a fresh bpffs
 * instance at /sys/fs/bpf (pins made there vanish with the namespace and
 * never touch the host's), or none at all (as on a host that never mounted
 * bpffs). The namespaces are anonymous, so every run's are its own; they
 * end with the last process in them, and stop() ends the whole process
 * group, also after a failed test. An XDP program attached to this `lo`
 * sees only this namespace's traffic, never the host's loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { BPFFS_ROOT } from '@dnsdist-ts/bpf';

export interface PrivateNamespaceOptions {
  /** 'fresh': mount a new, empty bpffs; 'none': unmount every bpffs there. */
  bpffs: 'fresh' | 'none';
  /** Run the command as this uid (and gid), without supplementary groups: an unprivileged process. */
  uid?: number;
  /** Working directory of the command and of exec(). */
  cwd: string;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface PrivateNamespace {
  /** The command's pid: the namespaces' first process. */
  readonly pid: number;
  /** stdout and stderr of the command so far, interleaved as read. */
  output(): string;
  /** Resolves when the output matches `re`; rejects when the command exits first. */
  waitForOutput(re: RegExp): Promise<void>;
  /** Run another command in the same namespaces (as root, in `cwd`). */
  exec(cmd: string, args: string[]): Promise<CommandResult>;
  /** SIGTERM to the command's process group; SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Exit status of the wrapper when the namespace could not be prepared. */
const SETUP_FAILED = 97;

export function startInPrivateNamespaces(argv: string[], opts: PrivateNamespaceOptions): PrivateNamespace {
  const setup = [
    'ip link set lo up',
    opts.bpffs === 'fresh'
      ? `mount -t bpf bpf ${BPFFS_ROOT} && [ "$(stat -f -c %T ${BPFFS_ROOT})" = bpf_fs ]`
      : `while mountpoint -q ${BPFFS_ROOT}; do umount -R ${BPFFS_ROOT} || exit ${SETUP_FAILED}; done`,
  ];
  const drop = opts.uid !== undefined ? `setpriv --reuid=${opts.uid} --regid=${opts.uid} --clear-groups ` : '';
  const script = `${setup.map((s) => `{ ${s}; } || exit ${SETUP_FAILED}`).join('\n')}\nexec ${drop}"$@"`;
  const child: ChildProcess = spawn('unshare', ['--net', '--mount', '--propagation', 'private', 'sh', '-c', script, 'ns', ...argv], {
    cwd: opts.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  child.stdout!.on('data', (d: Buffer) => ((out += d.toString()), notify()));
  child.stderr!.on('data', (d: Buffer) => ((out += d.toString()), notify()));
  child.on('exit', (code, signal) => ((exited = { code, signal }), notify()));
  const pid = child.pid!;

  return {
    pid,
    output: () => out,
    waitForOutput(re) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(out)) {
            listeners.delete(check);
            resolve();
          } else if (exited) {
            listeners.delete(check);
            const why = exited.code === SETUP_FAILED ? 'the namespace could not be prepared' : `exited (${exited.code ?? exited.signal})`;
            reject(new Error(`${argv.join(' ')}: ${why} before printing ${re}; output:\n${out}`));
          }
        };
        listeners.add(check);
        check();
      });
    },
    exec(cmd, args) {
      return new Promise((resolve, reject) => {
        const c = spawn('nsenter', ['-t', String(pid), '--net', '--mount', `--wd=${opts.cwd}`, cmd, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.on('error', reject);
        c.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    },
    async stop(graceMs = 10000) {
      const kill = (sig: NodeJS.Signals) => {
        try {
          process.kill(-pid, sig);
        } catch {
          // The group is gone already.
        }
      };
      if (!exited) {
        const gone = once(child, 'exit');
        kill('SIGTERM');
        const timer = setTimeout(() => kill('SIGKILL'), graceMs);
        await gone;
        clearTimeout(timer);
      }
      // Whatever the command left behind in its group (it may not have waited for its children).
      kill('SIGKILL');
    },
  };
}
