import type { UpdateMode } from './map-type.js';

/**
 * What a key/value map offers, whether it lives in the kernel (BpfMap) or
 * in memory for pure-logic unit tests (MemoryMap). Keys and values are raw
 * bytes in the map's own layout; encoding belongs to the caller.
 */
export interface BpfMapLike {
  readonly type: number;
  readonly keySize: number;
  /** Bytes of one value as stored per entry (per CPU for per-CPU maps). */
  readonly valueSize: number;
  /** Bytes a lookup returns: valueSize, or rounded to 8 × CPUs for per-CPU maps. */
  readonly valueBufferSize: number;
  readonly maxEntries: number;

  /** The value, or undefined when the key is absent. */
  lookup(key: Uint8Array): Buffer | undefined;
  /** Allocation-free lookup into `out` (valueBufferSize bytes); false when absent. */
  lookupInto(key: Uint8Array, out: Uint8Array): boolean;
  has(key: Uint8Array): boolean;
  update(key: Uint8Array, value: Uint8Array, mode?: UpdateMode): void;
  /** False when the key was absent. */
  delete(key: Uint8Array): boolean;
  /** A snapshot of the keys: safe to delete entries while walking it. */
  keys(): IterableIterator<Buffer>;
  /** Entries over a key snapshot; entries deleted meanwhile are skipped. */
  entries(): IterableIterator<[Buffer, Buffer]>;
  /** Insert many entries; returns how many were written. */
  updateBatch(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, mode?: UpdateMode): number;
  /** Every entry, read with as few calls as the kernel allows. */
  dump(): Array<[Buffer, Buffer]>;
  /** Delete many keys; absent ones are skipped. Returns how many were deleted. */
  deleteBatch(keys: ReadonlyArray<Uint8Array>): number;
  /** Number of entries (walks the map). */
  count(): number;
  close(): void;
}
