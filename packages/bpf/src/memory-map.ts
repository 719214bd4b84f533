/**
 * MemoryMap: an in-memory stand-in for a kernel map, for pure-logic unit
 * tests on machines without BPF. It follows the kernel's rules for update
 * modes, sizes and fullness, but it is not a kernel map: tests of anything
 * that touches the kernel must use BpfMap.
 */
import { BpfError, BpfMapFullError, BpfNotFoundError, BpfBusyError } from './errors.js';
import type { BpfMapLike } from './map-like.js';
import { MapType, type UpdateMode } from './map-type.js';

export interface MemoryMapSpec {
  type?: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export class MemoryMap implements BpfMapLike {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly valueBufferSize: number;
  readonly maxEntries: number;
  readonly #entries = new Map<string, [Buffer, Buffer]>();
  #closed = false;

  constructor(spec: MemoryMapSpec) {
    this.type = spec.type ?? MapType.Hash;
    if (
      this.type === MapType.PerCpuArray ||
      this.type === MapType.PerCpuHash ||
      this.type === MapType.LruPerCpuHash ||
      this.type === MapType.LpmTrie
    ) {
      throw new BpfError('MemoryMap models plain hash and array maps only', { code: 'EINVAL', op: 'memory map create' });
    }
    this.keySize = spec.keySize;
    this.valueSize = spec.valueSize;
    this.valueBufferSize = spec.valueSize;
    this.maxEntries = spec.maxEntries;
  }

  lookup(key: Uint8Array): Buffer | undefined {
    const e = this.#entries.get(this.hex(key));
    return e ? Buffer.from(e[1]) : undefined;
  }

  lookupInto(key: Uint8Array, out: Uint8Array): boolean {
    const e = this.#entries.get(this.hex(key));
    if (!e) return false;
    out.set(e[1]);
    return true;
  }

  has(key: Uint8Array): boolean {
    return this.#entries.has(this.hex(key));
  }

  update(key: Uint8Array, value: Uint8Array, mode: UpdateMode = 'any'): void {
    const h = this.hex(key);
    if (value.byteLength !== this.valueSize) throw new BpfError(`value must be ${this.valueSize} bytes`, { code: 'EINVAL', op: 'update' });
    const exists = this.#entries.has(h);
    if (mode === 'noexist' && exists) throw new BpfBusyError('update: File exists', { code: 'EEXIST', errno: 17, op: 'update' });
    if (mode === 'exist' && !exists)
      throw new BpfNotFoundError('update: No such file or directory', { code: 'ENOENT', errno: 2, op: 'update' });
    if (!exists && this.#entries.size >= this.maxEntries)
      throw new BpfMapFullError('update: Argument list too long', { code: 'E2BIG', errno: 7, op: 'update' });
    this.#entries.set(h, [Buffer.from(key), Buffer.from(value)]);
  }

  delete(key: Uint8Array): boolean {
    return this.#entries.delete(this.hex(key));
  }

  *keys(): IterableIterator<Buffer> {
    for (const [k] of [...this.#entries.values()]) yield Buffer.from(k);
  }

  *entries(): IterableIterator<[Buffer, Buffer]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v) yield [k, v];
    }
  }

  updateBatch(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, mode?: UpdateMode): number {
    for (const [k, v] of entries) this.update(k, v, mode);
    return entries.length;
  }

  dump(): Array<[Buffer, Buffer]> {
    return [...this.entries()];
  }

  deleteBatch(keys: ReadonlyArray<Uint8Array>): number {
    let n = 0;
    for (const k of keys) if (this.delete(k)) n++;
    return n;
  }

  count(): number {
    return this.#entries.size;
  }

  close(): void {
    this.#closed = true;
    this.#entries.clear();
  }

  private hex(key: Uint8Array): string {
    if (this.#closed) throw new BpfError('memory map is closed', { code: 'EBADF', op: 'use map' });
    if (key.byteLength !== this.keySize)
      throw new BpfError(`key must be ${this.keySize} bytes, got ${key.byteLength}`, { code: 'EINVAL', op: 'map access' });
    return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
  }
}
