/**
 * An in-memory stand-in for the kernel sink, for the pure-logic tests of
 * the dynamic-block engine: it records what the engine pushes and
 * removes, reports hit counters the test sets, and can refuse kinds,
 * actions or every insert. It touches no kernel; the real sink over the
 * BPF maps is tested with the eBPF bindings.
 */
import { formatAddress } from '@dnsdist-ts/dns';
import type { KernelBlockInventory } from '@dnsdist-ts/dynblocks/dynblocks/kernel-block-inventory.js';
import type { KernelBlock, KernelBlockAction, KernelBlockSink } from '@dnsdist-ts/dynblocks/dynblocks/kernel-block-sink.js';

/** The key a kernel map would use for a block: "address:192.0.2.1", "range:10.0.0.0/8", "suffix:bad.example.". */
export function kernelKey(b: KernelBlock): string {
  switch (b.kind) {
    case 'address':
      return `address:${formatAddress(b.address)}`;
    case 'range':
      return `range:${formatAddress(b.network)}/${b.prefix}`;
    case 'suffix':
      return `suffix:${b.name.toLowerCase().toString()}`;
  }
}

export class FakeKernelSink implements KernelBlockSink {
  /** What the kernel holds, by key. */
  readonly entries = new Map<string, KernelBlock>();
  /** Every call, in order: "insert address:192.0.2.1 drop", "remove …". */
  readonly calls: string[] = [];
  /** Hit counters, by key (set by the test). */
  readonly counters = new Map<string, number>();
  /** When each key was first inserted (performance.now()). */
  readonly insertedAt = new Map<string, number>();
  /** How many times a hit counter was read (each is one kernel lookup for the real sink). */
  hitReads = 0;
  refuseInserts = false;
  supported: Partial<Record<KernelBlock['kind'], readonly KernelBlockAction[]>> = {
    address: ['drop', 'truncate', 'pass'],
    range: ['drop', 'truncate', 'pass'],
    suffix: ['drop', 'truncate', 'pass'],
  };

  supports(kind: KernelBlock['kind'], action: KernelBlockAction): boolean {
    return this.supported[kind]?.includes(action) ?? false;
  }

  insert(block: KernelBlock): boolean {
    const key = kernelKey(block);
    this.calls.push(`insert ${key} ${block.action}`);
    if (this.refuseInserts) return false;
    if (!this.entries.has(key)) {
      this.insertedAt.set(key, performance.now());
      this.counters.set(key, 0);
    }
    this.entries.set(key, block);
    return true;
  }

  remove(block: KernelBlock): void {
    const key = kernelKey(block);
    this.calls.push(`remove ${key}`);
    this.entries.delete(key);
    this.counters.delete(key);
  }

  hits(block: KernelBlock): number {
    this.hitReads++;
    return this.counters.get(kernelKey(block)) ?? 0;
  }

  /** Pretend the kernel matched `n` more packets for `key`. */
  hit(key: string, n: number): void {
    if (!this.entries.has(key)) throw new Error(`the fake kernel holds no ${key}`);
    this.counters.set(key, (this.counters.get(key) ?? 0) + n);
  }
}

/** A fake sink that also lists blocks left by a "previous run". */
export class FakeKernelSinkWithInventory extends FakeKernelSink implements KernelBlockInventory {
  readonly leftovers: KernelBlock[];

  constructor(leftovers: KernelBlock[]) {
    super();
    this.leftovers = leftovers;
    for (const b of leftovers) {
      this.entries.set(kernelKey(b), b);
      this.counters.set(kernelKey(b), 0);
    }
  }

  liveBlocks(): readonly KernelBlock[] {
    return this.leftovers;
  }
}
