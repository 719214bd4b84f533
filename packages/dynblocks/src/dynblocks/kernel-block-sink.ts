import type { DNSName } from '@dnsdist-ts/dns';

/** What a dynamic block asks the kernel to do with matching packets. */
export type KernelBlockAction = 'drop' | 'truncate' | 'pass';

/**
 * One dynamic block as the kernel would enforce it: an exact client
 * address (/32, /128), a range (cidr4/cidr6 maps) or a name suffix (the
 * xdp-filter suffix map).
 */
export type KernelBlock =
  | { kind: 'address'; address: Uint8Array; action: KernelBlockAction; until: number }
  | { kind: 'range'; network: Uint8Array; prefix: number; action: KernelBlockAction; until: number }
  | { kind: 'suffix'; name: DNSName; action: KernelBlockAction; until: number };

/**
 * Where the dynamic-block engine pushes blocks for kernel enforcement (the
 * default BPF filter's maps, set by setDefaultBPFFilter). The engine keeps
 * its own userspace entry regardless; the sink only mirrors it.
 * `until` is a performance.now() (monotonic ms) deadline.
 */
export interface KernelBlockSink {
  /** Can the kernel enforce this kind with this action (map present, format supports the action)? */
  supports(kind: KernelBlock['kind'], action: KernelBlockAction): boolean;
  /**
   * Insert or refresh. Returns false when the kernel cannot take it (map
   * full, wrong format, error): the sink logs the reason once and counts it;
   * the userspace block still applies.
   */
  insert(block: KernelBlock): boolean;
  /** Remove the entry (expiry, clearDynBlocks). Missing entries are not an error. */
  remove(block: KernelBlock): void;
  /** Packets the kernel matched for this entry so far (its map counter). */
  hits(block: KernelBlock): number;
}
