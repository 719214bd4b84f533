import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BpfError, BpfMap, checkPinPath, MapType, nativeAvailable } from '@dnsdist-ts/bpf';

/** CAP_NET_ADMIN's bit in /proc/self/status CapEff: attaching an XDP program needs it. */
const CAP_NET_ADMIN = 12n;

function effectiveCapabilities(): bigint | undefined {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]!}`) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why this process cannot enforce blocks in the kernel with maps pinned in
 * `pinDir` (create BPF maps, pin them there, attach an XDP program), or
 * undefined when it can. Creates nothing that outlives the call: one
 * unpinned one-entry map, closed at once.
 *
 * Lets a configuration choose, before newBPFFilter{...} fails the start-up,
 * between kernel enforcement and the proxy alone (the shipped demo does),
 * and say why in one line.
 */
export function bpfUnavailable(pinDir: string): string | undefined {
  if (process.platform !== 'linux') return `BPF needs Linux, this is ${process.platform}`;
  if (!nativeAvailable()) return 'the @dnsdist-ts/bpf native addon is not built (run make)';
  try {
    BpfMap.create({ type: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 1 }).close();
  } catch (err) {
    if (!(err instanceof BpfError)) throw err;
    const who = process.getuid?.() === 0 ? 'root without CAP_BPF' : `not root (uid ${process.getuid?.() ?? '?'})`;
    return `this process cannot create BPF maps: ${who}, ${err.code}; run as root`;
  }
  const caps = effectiveCapabilities();
  if (caps !== undefined && ((caps >> CAP_NET_ADMIN) & 1n) === 0n) {
    return 'this process lacks CAP_NET_ADMIN, which attaching an XDP program needs';
  }
  try {
    checkPinPath(join(pinDir, 'addr-v4'));
  } catch (err) {
    if (!(err instanceof BpfError)) throw err;
    // The reason, not the pin: "no bpffs is mounted at /sys/fs/bpf; mount it (…) and try again".
    return err.message.replace(/^Unable to pin map to path '[^']*': /, '');
  }
  return undefined;
}
