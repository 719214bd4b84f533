/**
 * Gate for tests that need the kernel's BPF. Where BPF is usable they run;
 * where it is not, they skip with a one-line reason, unless REQUIRE_BPF=1
 * (CI), in which case they fail with that reason: CI can never go green by
 * skipping them.
 */
import { BpfMap, MapType, nativeAvailable, isOnBpffs, BPFFS_ROOT } from '@dnsdist-ts/bpf';

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

let cached: { reason: string | undefined } | undefined;
/** Why BPF is unavailable here, or undefined when it works. */
export function bpfUnavailableReason(): string | undefined {
  cached ??= { reason: probe() };
  return cached.reason;
}

export const bpfRequired = process.env.REQUIRE_BPF === '1';

/** `describe` for a block of tests that needs the kernel's BPF (and root). */
export function describeBpf(name: string, fn: () => void): void {
  const reason = bpfUnavailableReason();
  if (!reason) {
    describe(name, fn);
  } else if (bpfRequired) {
    describe(name, () => {
      it('needs BPF (REQUIRE_BPF=1)', () => {
        throw new Error(`BPF is required (REQUIRE_BPF=1) but unavailable: ${reason}`);
      });
    });
  } else {
    process.stderr.write(`skipping "${name}": ${reason}\n`);
    describe.skip(name, fn);
  }
}

/** A unique, short name for per-run kernel objects (netns, veth, pin dirs). */
export function uniqueName(prefix: string): string {
  return `${prefix}${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`.slice(0, 15);
}
