/**
 * The requirement for tests that need the kernel's BPF (scope 'bpf':
 * mandatory under REQUIRE_BPF=1 and REQUIRE_ALL=1, see require.ts), and
 * unique names for the kernel objects those tests create.
 */
import { BpfMap, MapType, nativeAvailable, isOnBpffs, BPFFS_ROOT } from '@dnsdist-ts/bpf';
import { describeRequires, requirement } from './require.js';

function probe(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (!nativeAvailable()) return 'the @dnsdist-ts/bpf addon is not built';
  if (!isOnBpffs(BPFFS_ROOT)) return `${BPFFS_ROOT} is not a bpffs mount`;
  try {
    BpfMap.create({ type: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 1 }).close();
  } catch (err) {
    return `cannot create a BPF map: ${(err as Error).message}`;
  }
  return undefined;
}

/** The kernel's BPF, usable from this process (root, bpffs, the addon built). */
export const bpf = requirement('BPF', 'bpf', probe);

/** Why BPF is unavailable here, or undefined when it works. */
export function bpfUnavailableReason(): string | undefined {
  return bpf.unavailable();
}

/** `describe` for a block of tests that needs the kernel's BPF (and root): {@link describeRequires} on {@link bpf}. */
export function describeBpf(name: string, fn: () => void): void {
  describeRequires(name, bpf, fn);
}

/** A unique, short name for per-run kernel objects (netns, veth, pin dirs). */
export function uniqueName(prefix: string): string {
  return `${prefix}${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`.slice(0, 15);
}
