/**
 * -u/-g: the user and group dnsdist-ts switches to once its listeners are
 * bound and its BPF objects loaded and pinned (docs/install.md).
 *
 * Names are resolved before anything starts, so a missing user is an
 * immediate error that leaves nothing bound or pinned. The switch keeps the
 * capabilities in the process's ambient set (what a supervisor grants, as
 * systemd's AmbientCapabilities= does), except CAP_SETUID and CAP_SETGID:
 * on kernels before 6.5 every bpf(2) call, dynamic-block map updates
 * included, needs CAP_BPF when unprivileged BPF is disabled. Started by hand
 * without ambient capabilities, the process keeps none, as dnsdist does.
 */
import { readFileSync } from 'node:fs';
import { loadNativeUdpAddon } from '@dnsdist-ts/dataplane/io/native-udp-addon.js';

/** -u or -g cannot be honoured; says which option, its value and what to do. */
export class PrivilegeError extends Error {
  /** The option at fault: '-u' or '-g'. */
  readonly option: '-u' | '-g';
  /** The value given to it. */
  readonly value: string;

  constructor(option: '-u' | '-g', value: string, message: string, options?: ErrorOptions) {
    super(`${option} ${value}: ${message}`, options);
    this.name = 'PrivilegeError';
    this.option = option;
    this.value = value;
  }
}

/** The ids -u/-g name, resolved; undefined where the option was not given. */
export interface Identity {
  uid: number | undefined;
  gid: number | undefined;
}

/** Look-ups through the system's NSS (the addon's getpwnam_r/getgrnam_r). */
export interface AccountLookup {
  user(name: string): { uid: number; gid: number } | null;
  group(name: string): number | null;
}

interface PrivilegesBinding {
  lookupUser(name: string): { uid: number; gid: number } | null;
  lookupGroup(name: string): number | null;
  switchIds(uid: number, gid: number, keepLow: number, keepHigh: number): { low: number; high: number };
}

/** The capabilities dnsdist-ts may use, by number (linux/capability.h). */
export const CAPABILITIES: Readonly<Record<string, number>> = {
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_SYS_ADMIN: 21,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
};

const MAX_ID = 0xfffffffe; // (uid_t)-1 means "unchanged" to the kernel

function binding(): PrivilegesBinding | undefined {
  try {
    const b = loadNativeUdpAddon() as unknown as Partial<PrivilegesBinding>;
    return typeof b.switchIds === 'function' ? (b as PrivilegesBinding) : undefined;
  } catch {
    return undefined;
  }
}

/** /etc/passwd and /etc/group read directly: the fallback when the addon is not built. */
function filesLookup(): AccountLookup {
  const entries = (file: string): string[][] => {
    try {
      return readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.split(':'));
    } catch {
      return [];
    }
  };
  return {
    user: (name) => {
      const e = entries('/etc/passwd').find((f) => f[0] === name && f.length >= 4);
      return e ? { uid: Number(e[2]), gid: Number(e[3]) } : null;
    },
    group: (name) => {
      const e = entries('/etc/group').find((f) => f[0] === name && f.length >= 3);
      return e ? Number(e[2]) : null;
    },
  };
}

/** The system's account look-ups: NSS through the addon, else /etc/passwd and /etc/group. */
export function systemLookup(): AccountLookup {
  const b = binding();
  return b ? { user: (n) => b.lookupUser(n), group: (n) => b.lookupGroup(n) } : filesLookup();
}

function resolveOne(option: '-u' | '-g', value: string, lookup: AccountLookup): number {
  if (/^\d+$/.test(value)) {
    const id = Number(value);
    if (id > MAX_ID) throw new PrivilegeError(option, value, `a numeric id must be at most ${MAX_ID}`);
    return id;
  }
  const id = option === '-u' ? lookup.user(value)?.uid : lookup.group(value);
  if (id === undefined || id === null) {
    const what = option === '-u' ? 'user' : 'group';
    const create = option === '-u' ? `useradd --system --no-create-home ${value}` : `groupadd --system ${value}`;
    throw new PrivilegeError(
      option,
      value,
      `no ${what} named '${value}' on this system (create it, e.g. '${create}', or give a numeric id)`,
    );
  }
  return id;
}

/** Resolve -u/-g (names or numbers) to ids; throws {@link PrivilegeError} for an unknown name. */
export function resolveIdentity(uid: string | undefined, gid: string | undefined, lookup: AccountLookup = systemLookup()): Identity {
  return {
    uid: uid === undefined ? undefined : resolveOne('-u', uid, lookup),
    gid: gid === undefined ? undefined : resolveOne('-g', gid, lookup),
  };
}

/** A capability set from /proc/PID/status (`CapAmb:`, `CapEff:`…), as a bit mask. */
export function capabilitySet(statusText: string, field: 'CapAmb' | 'CapEff' | 'CapPrm' | 'CapInh' | 'CapBnd'): bigint {
  const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(statusText);
  if (!m) throw new Error(`no ${field} line in the process status`);
  return BigInt(`0x${m[1]!}`);
}

/** What the switch keeps: the ambient set, less CAP_SETUID and CAP_SETGID. */
export function capabilitiesToKeep(ambient: bigint): bigint {
  return ambient & ~((1n << BigInt(CAPABILITIES.CAP_SETUID!)) | (1n << BigInt(CAPABILITIES.CAP_SETGID!)));
}

/** The names of the capabilities in `mask` (numbers for those not in {@link CAPABILITIES}). */
export function capabilityNames(mask: bigint): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if (((mask >> BigInt(bit)) & 1n) === 0n) continue;
    names.push(Object.keys(CAPABILITIES).find((k) => CAPABILITIES[k] === bit) ?? `capability ${bit}`);
  }
  return names;
}

/**
 * Switch to `id` (group first, supplementary groups cleared, then user),
 * keeping {@link capabilitiesToKeep} of the ambient set. Returns the
 * capabilities still effective. Throws {@link PrivilegeError} when the
 * kernel refuses (not root, no CAP_SETUID/CAP_SETGID).
 */
export function switchIdentity(id: Identity, cl: { uid?: string | undefined; gid?: string | undefined }): bigint {
  if (id.uid === undefined && id.gid === undefined) return 0n;
  const keep = capabilitiesToKeep(capabilitySet(readFileSync('/proc/self/status', 'utf8'), 'CapAmb'));
  const b = binding();
  const blame = (err: unknown): PrivilegeError => {
    const op = (err as { op?: string; syscall?: string }).op ?? (err as { syscall?: string }).syscall ?? '';
    const [option, value] =
      /gid|groups/.test(op) || id.uid === undefined ? (['-g', cl.gid ?? ''] as const) : (['-u', cl.uid ?? ''] as const);
    return new PrivilegeError(option, value, `${(err as Error).message} (switching needs root, or CAP_SETUID and CAP_SETGID)`, {
      cause: err,
    });
  };
  if (b) {
    try {
      const eff = b.switchIds(id.uid ?? -1, id.gid ?? -1, Number(keep & 0xffffffffn), Number(keep >> 32n));
      return (BigInt(eff.high) << 32n) | BigInt(eff.low);
    } catch (err) {
      throw blame(err);
    }
  }
  // Without the addon node's own calls do it, and every capability goes with root.
  try {
    if (id.gid !== undefined) {
      process.setgid!(id.gid);
      process.setgroups!([]);
    }
    if (id.uid !== undefined) process.setuid!(id.uid);
  } catch (err) {
    throw blame(err);
  }
  return 0n;
}
