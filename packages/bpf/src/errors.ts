/**
 * Typed errors. Each carries the errno name, the operation, what it was
 * acting on, and a hint saying what to do, so callers can both branch on
 * the class and show users something actionable.
 */

export interface BpfErrorDetails {
  /** errno name such as 'EPERM', or a pseudo code like 'EMISMATCH'. */
  code: string;
  errno?: number;
  /** What was being done, e.g. 'map create', 'pin', 'XDP attach'. */
  op: string;
  /** What it was done to: a pinned path, map name, interface or object file. */
  target?: string;
  hint?: string;
  /** libbpf/verifier output captured during the failing call. */
  log?: string;
}

export class BpfError extends Error {
  readonly code: string;
  readonly errno: number | undefined;
  readonly op: string;
  readonly target: string | undefined;
  readonly hint: string | undefined;
  readonly log: string | undefined;

  constructor(message: string, d: BpfErrorDetails) {
    super(message);
    this.name = new.target.name;
    this.code = d.code;
    this.errno = d.errno;
    this.op = d.op;
    this.target = d.target;
    this.hint = d.hint;
    this.log = d.log;
  }
}

/**
 * A pin path that cannot work: no bpffs where it points (the usual cause:
 * bpffs not mounted at /sys/fs/bpf), or a parent that is not a directory.
 * Raised before anything is created.
 */
export class BpfPinPathError extends BpfError {}
/** EPERM/EACCES outside the verifier: missing privileges or not on bpffs. */
export class BpfPermissionError extends BpfError {}
/** ENOENT: a pinned path, interface, map or program that does not exist. */
export class BpfNotFoundError extends BpfError {}
/** A pinned map whose layout differs from what the caller expects. */
export class BpfMapMismatchError extends BpfError {
  constructor(
    message: string,
    d: BpfErrorDetails,
    readonly expected: Record<string, number>,
    readonly actual: Record<string, number>,
  ) {
    super(message, d);
  }
}
/** E2BIG on insert: the map has max_entries entries already. */
export class BpfMapFullError extends BpfError {}
/** The kernel verifier (or libbpf) rejected a program; `log` has the details. */
export class BpfVerifierError extends BpfError {}
/** EBUSY/EEXIST: something else is attached, or an entry already exists. */
export class BpfBusyError extends BpfError {}

interface NativeErrorShape {
  message?: string;
  code?: string;
  errno?: number;
  op?: string;
  log?: string;
}

const PERMISSION_HINT =
  'needs CAP_BPF and CAP_NET_ADMIN (CAP_SYS_ADMIN for socket filters) and a sufficient RLIMIT_MEMLOCK; is /sys/fs/bpf a bpffs mount (mount -t bpf bpf /sys/fs/bpf)?';

function hintFor(code: string, op: string): string | undefined {
  if (code === 'EPERM' || code === 'EACCES') return PERMISSION_HINT;
  if (code === 'ENODEV' && op === 'interface lookup') return 'no such interface in this network namespace (see `ip link`)';
  if (code === 'ENOENT') {
    if (op.startsWith('open pinned')) return 'nothing is pinned at that path: create the map first, or check the path';
    if (op === 'interface lookup') return 'no such interface in this network namespace (see `ip link`)';
    if (op === 'pin') return 'the parent directory does not exist on bpffs';
    return 'no such entry or object';
  }
  if (code === 'E2BIG') return 'the map is full (max_entries reached): raise its size or remove entries';
  if (code === 'EEXIST')
    return op.startsWith('XDP')
      ? 'another XDP program is attached to this interface: detach it first (ip link set dev IF xdp off)'
      : 'the key already exists';
  if (code === 'EBUSY') return 'another XDP program is attached to this interface: detach it first (ip link set dev IF xdp off)';
  if (code === 'EOPNOTSUPP' || code === 'ENOTSUP')
    return op.startsWith('XDP') ? 'the driver has no native XDP support: use generic mode' : 'not supported by this kernel or map type';
  if (code === 'EINVAL' && op === 'map create') return 'invalid map parameters (sizes, flags, or max entries 0)';
  if (code === 'EBADF') return 'the file descriptor is closed or not a BPF object';
  return undefined;
}

/** Turn an error thrown by the addon into the matching typed error. */
export function fromNative(err: unknown, op: string, target?: string): BpfError {
  if (err instanceof BpfError) return err;
  const e = (err ?? {}) as NativeErrorShape;
  const code = e.code ?? 'EUNKNOWN';
  const nativeOp = e.op ?? op;
  const hint = hintFor(code, nativeOp);
  const where = target ? ` (${target})` : '';
  const base = `${op}${where}: ${e.message ?? String(err)}`;
  const message = hint ? `${base}; ${hint}` : base;
  const d: BpfErrorDetails = { code, op, hint };
  if (e.errno !== undefined) d.errno = e.errno;
  if (target !== undefined) d.target = target;
  if (e.log) d.log = e.log;
  if (nativeOp === 'load object' && code !== 'ENOENT' && e.log && /failed to load|verifier|processed \d+ insn/i.test(e.log)) {
    const why = code === 'E2BIG' ? 'the program is too large or too complex for the verifier' : 'the verifier rejected it';
    return new BpfVerifierError(`${base}; ${why}, see .log:\n${tail(e.log, 40)}`, d);
  }
  if (code === 'EPERM' || code === 'EACCES') return new BpfPermissionError(message, d);
  if (code === 'ENOENT' || (code === 'ENODEV' && nativeOp === 'interface lookup')) return new BpfNotFoundError(message, d);
  if (code === 'E2BIG' && (nativeOp === 'update' || nativeOp === 'batch update')) return new BpfMapFullError(message, d);
  if (code === 'EBUSY' || code === 'EEXIST') return new BpfBusyError(message, d);
  return new BpfError(message, d);
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(Math.max(0, all.length - lines)).join('\n');
}

/** Run a native call, converting what it throws into a typed error. */
export function call<T>(op: string, target: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err, op, target);
  }
}
