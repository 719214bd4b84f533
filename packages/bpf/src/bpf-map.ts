import { pinObject } from './bpffs.js';
import type { BtfKeyValue } from './btf-type.js';
import { BpfError, BpfMapMismatchError, call, fromNative } from './errors.js';
import type { BpfMapLike } from './map-like.js';
import { isPerCpu, mapTypeName, updateFlag, type UpdateMode } from './map-type.js';
import { native, type NativeBinding } from './native.js';
import { perCpuValueStride } from './per-cpu.js';

/** What a map is made from (the "spec" side, as in cilium/ebpf). */
export interface MapSpec {
  /** A MapType value (hash, LRU hash, array, per-CPU, LPM trie, prog array). */
  type: number;
  /** Kernel-visible name, at most 15 characters. */
  name?: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_F_* creation flags (see MapFlags). */
  flags?: number;
  /** Key/value types so `bpftool map dump` pretty-prints entries. */
  btf?: BtfKeyValue;
}

/** What the kernel says about a live map. */
export interface MapInfo {
  type: number;
  id: number;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  btfId: number;
}

/** Layout a caller requires of a pinned map it opens. */
export interface MapExpectation {
  type?: number;
  keySize?: number;
  valueSize?: number;
  flags?: number;
}

const fdRegistry = new FinalizationRegistry<number>((fd) => native().close(fd));

/**
 * A live kernel map held through a file descriptor. Close it when done;
 * a forgotten map is closed when garbage-collected, but explicit close
 * keeps fd counts predictable.
 */
export class BpfMap implements BpfMapLike {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly valueBufferSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly name: string;
  /** Pin path this map was opened from or pinned to, if any. */
  pinnedPath: string | undefined;
  #fd: number;
  /** False for a borrowed fd (see {@link BpfMap.borrow}): never closed from here. */
  readonly #owned: boolean;
  #scratch: Buffer;
  /** Cached binding: the single-entry paths are hot (one syscall each). */
  readonly #n: NativeBinding = native();

  private constructor(fd: number, info: MapInfo, pinnedPath?: string, owned = true) {
    this.#fd = fd;
    this.#owned = owned;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.flags = info.flags;
    this.name = info.name;
    this.pinnedPath = pinnedPath;
    this.valueBufferSize = isPerCpu(info.type) ? perCpuValueStride(info.valueSize) * native().numPossibleCpus() : info.valueSize;
    this.#scratch = Buffer.alloc(this.valueBufferSize);
    if (owned) fdRegistry.register(this, fd, this);
  }

  /** Create a new, unpinned map. */
  static create(spec: MapSpec): BpfMap {
    const label = spec.name ?? mapTypeName(spec.type);
    if (spec.maxEntries <= 0 || !Number.isInteger(spec.maxEntries)) {
      throw new BpfError(`map create (${label}): max entries must be a positive integer, got ${spec.maxEntries}`, {
        code: 'EINVAL',
        op: 'map create',
        target: label,
        hint: 'give every map in use a non-zero size',
      });
    }
    const fd = call('map create', label, () =>
      native().mapCreate(spec.type, spec.name ?? '', spec.keySize, spec.valueSize, spec.maxEntries, spec.flags ?? 0, spec.btf),
    );
    return BpfMap.fromFd(fd);
  }

  /**
   * Create a map and pin it at `path` (parents created on bpffs); without a
   * path, just create it. A failed pin closes the new map before throwing.
   */
  static createPinned(spec: MapSpec, path: string | undefined): BpfMap {
    const map = BpfMap.create(spec);
    if (path) {
      try {
        map.pin(path);
      } catch (err) {
        map.close();
        throw err;
      }
    }
    return map;
  }

  /** Wrap an fd the caller owns from now on (e.g. a map of a loaded object, dup'ed). */
  static fromFd(fd: number, pinnedPath?: string): BpfMap {
    let info: MapInfo;
    try {
      info = call('map info', pinnedPath, () => native().mapInfo(fd));
    } catch (err) {
      native().close(fd);
      throw err;
    }
    return new BpfMap(fd, info, pinnedPath);
  }

  /**
   * A view of an fd that someone else owns and keeps open while the view
   * is used, such as another thread of this process (fds are process-wide):
   * neither `close()` nor garbage collection closes it, so the owner's fd
   * number is never closed twice.
   */
  static borrow(fd: number): BpfMap {
    return new BpfMap(
      fd,
      call('map info', `fd ${fd}`, () => native().mapInfo(fd)),
      undefined,
      false,
    );
  }

  /**
   * Open a map pinned at `path`. With `expect`, its layout is checked and a
   * mismatch throws BpfMapMismatchError naming both layouts.
   */
  static openPinned(path: string, expect?: MapExpectation): BpfMap {
    const fd = call('open pinned map', path, () => native().objGet(path));
    const map = BpfMap.fromFd(fd, path);
    if (expect) {
      try {
        map.checkLayout(expect);
      } catch (err) {
        map.close();
        throw err;
      }
    }
    return map;
  }

  /** Throws BpfMapMismatchError if this map's layout differs from `expect`. */
  checkLayout(expect: MapExpectation): void {
    const actual: Record<string, number> = {};
    const expected: Record<string, number> = {};
    const diffs: string[] = [];
    for (const k of ['type', 'keySize', 'valueSize', 'flags'] as const) {
      const want = expect[k];
      if (want === undefined) continue;
      expected[k] = want;
      actual[k] = this[k];
      if (want !== this[k]) {
        const show = (v: number) => (k === 'type' ? mapTypeName(v) : String(v));
        diffs.push(`${k} ${show(this[k])} (expected ${show(want)})`);
      }
    }
    if (diffs.length > 0) {
      const where = this.pinnedPath ?? this.name;
      throw new BpfMapMismatchError(
        `map at ${where} has a different layout: ${diffs.join(', ')}; remove it (rm ${where}) or configure the matching format`,
        {
          code: 'EMISMATCH',
          op: 'open pinned map',
          target: where,
          hint: `rm ${where} to let it be recreated, or change the configuration to match it`,
        },
        expected,
        actual,
      );
    }
  }

  /**
   * Pin to `path`, creating missing parent directories below a bpffs mount
   * (never outside one: BpfPinPathError, nothing created). Returns the
   * directories it created, outermost first; a failed pin removes them
   * again before throwing.
   */
  pin(path: string): string[] {
    const created = pinObject(this.fd, path);
    this.pinnedPath = path;
    return created;
  }

  /** A second handle on the same kernel map (close each independently). */
  duplicate(): BpfMap {
    const fd = call('dup', this.label, () => native().dup(this.fd));
    return BpfMap.fromFd(fd, this.pinnedPath);
  }

  /**
   * A new, unpinned map with this one's type, sizes, flags and entries:
   * something to write to without touching this map (a dry run).
   */
  copy(): BpfMap {
    const c = BpfMap.create({
      type: this.type,
      name: this.name,
      keySize: this.keySize,
      valueSize: this.valueSize,
      maxEntries: this.maxEntries,
      flags: this.flags,
    });
    try {
      const { keys, values, count } = this.dumpRaw();
      if (count > 0) c.updateBatchRaw(keys, values, count);
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  }

  /** The file descriptor; throws if the map was closed. */
  get fd(): number {
    return this.liveFd();
  }

  private liveFd(): number {
    if (this.#fd < 0) throw new BpfError(`map ${this.label} is closed`, { code: 'EBADF', op: 'use map', target: this.label });
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  private get label(): string {
    return this.pinnedPath ?? (this.name || mapTypeName(this.type));
  }

  info(): MapInfo {
    return call('map info', this.label, () => native().mapInfo(this.fd));
  }

  lookup(key: Uint8Array): Buffer | undefined {
    const out = Buffer.allocUnsafe(this.valueBufferSize);
    return this.lookupInto(key, out) ? out : undefined;
  }

  lookupInto(key: Uint8Array, out: Uint8Array): boolean {
    if (key.byteLength !== this.keySize) this.sizeError('key', this.keySize, key.byteLength);
    if (out.byteLength < this.valueBufferSize) this.sizeError('value buffer', this.valueBufferSize, out.byteLength);
    try {
      return this.#n.mapLookup(this.liveFd(), key, out);
    } catch (err) {
      throw fromNative(err, 'lookup', this.label);
    }
  }

  has(key: Uint8Array): boolean {
    return this.lookupInto(key, this.#scratch);
  }

  update(key: Uint8Array, value: Uint8Array, mode?: UpdateMode): void {
    if (key.byteLength !== this.keySize) this.sizeError('key', this.keySize, key.byteLength);
    if (value.byteLength !== this.valueBufferSize) this.sizeError('value', this.valueBufferSize, value.byteLength);
    try {
      this.#n.mapUpdate(this.liveFd(), key, value, mode === undefined ? 0 : updateFlag(mode));
    } catch (err) {
      throw fromNative(err, 'update', this.label);
    }
  }

  delete(key: Uint8Array): boolean {
    if (key.byteLength !== this.keySize) this.sizeError('key', this.keySize, key.byteLength);
    try {
      return this.#n.mapDelete(this.liveFd(), key);
    } catch (err) {
      throw fromNative(err, 'delete', this.label);
    }
  }

  *keys(): IterableIterator<Buffer> {
    const all = call('iterate keys', this.label, () => native().mapKeys(this.fd, this.keySize));
    for (let off = 0; off < all.length; off += this.keySize) yield all.subarray(off, off + this.keySize);
  }

  *entries(): IterableIterator<[Buffer, Buffer]> {
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value) yield [key, value];
    }
  }

  count(): number {
    return call('iterate keys', this.label, () => native().mapKeys(this.fd, this.keySize)).length / this.keySize;
  }

  updateBatch(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, mode?: UpdateMode): number {
    const n = entries.length;
    if (n === 0) return 0;
    const keys = Buffer.allocUnsafe(n * this.keySize);
    const values = Buffer.allocUnsafe(n * this.valueBufferSize);
    for (let i = 0; i < n; i++) {
      const [k, v] = entries[i]!;
      this.checkKey(k);
      if (v.byteLength !== this.valueBufferSize) this.sizeError('value', this.valueBufferSize, v.byteLength);
      keys.set(k, i * this.keySize);
      values.set(v, i * this.valueBufferSize);
    }
    return this.updateBatchRaw(keys, values, n, mode).count;
  }

  /**
   * Batch update from packed buffers (`count` keys back to back, `count`
   * values back to back): one syscall, no per-entry allocation. `batched`
   * is false when the kernel had no batch op and entries went one by one.
   */
  updateBatchRaw(keys: Uint8Array, values: Uint8Array, count: number, mode?: UpdateMode): { count: number; batched: boolean } {
    if (keys.byteLength !== count * this.keySize) this.sizeError('packed keys', count * this.keySize, keys.byteLength);
    if (values.byteLength !== count * this.valueBufferSize)
      this.sizeError('packed values', count * this.valueBufferSize, values.byteLength);
    return call('batch update', this.label, () => native().mapUpdateBatch(this.fd, keys, values, count, updateFlag(mode)));
  }

  dump(): Array<[Buffer, Buffer]> {
    const raw = this.dumpRaw();
    const out: Array<[Buffer, Buffer]> = new Array(raw.count);
    for (let i = 0; i < raw.count; i++) {
      out[i] = [
        raw.keys.subarray(i * this.keySize, (i + 1) * this.keySize),
        raw.values.subarray(i * this.valueBufferSize, (i + 1) * this.valueBufferSize),
      ];
    }
    return out;
  }

  /** Every entry as packed buffers, read with lookup_batch where the kernel has it. */
  dumpRaw(): { keys: Buffer; values: Buffer; count: number; batched: boolean } {
    const capacity = Math.min(Math.max(this.maxEntries, 1), 65536);
    return call('batch lookup', this.label, () => native().mapDump(this.fd, this.keySize, this.valueBufferSize, capacity));
  }

  /**
   * A resumable dump: each `next()` reads at most `chunkEntries` entries
   * (one lookup_batch, or a bounded key walk where the map type has none)
   * and returns them, so a caller can read a large map between event-loop
   * turns instead of holding the loop for one whole dump. Entries written
   * or deleted between two chunks may or may not be listed; one present
   * throughout is listed once (batch path). The buffers of a chunk are
   * reused by the next one.
   */
  dumpCursor(chunkEntries = 4096): MapDumpCursor {
    return new MapDumpCursor(
      this,
      (cursor, keys, values, max) =>
        call('batch lookup', this.label, () =>
          this.#n.mapDumpChunk(this.fd, this.keySize, this.valueBufferSize, cursor, keys, values, max),
        ),
      chunkEntries,
    );
  }

  deleteBatch(keys: ReadonlyArray<Uint8Array>): number {
    const n = keys.length;
    if (n === 0) return 0;
    const packed = Buffer.allocUnsafe(n * this.keySize);
    for (let i = 0; i < n; i++) {
      this.checkKey(keys[i]!);
      packed.set(keys[i]!, i * this.keySize);
    }
    return call('batch delete', this.label, () => native().mapDeleteBatch(this.fd, packed, n)).count;
  }

  /** Per-CPU maps: the value of each possible CPU, or undefined when absent. */
  lookupPerCpu(key: Uint8Array): Buffer[] | undefined {
    if (!isPerCpu(this.type)) throw new BpfError(`map ${this.label} is not per-CPU`, { code: 'EINVAL', op: 'lookup', target: this.label });
    const all = this.lookup(key);
    if (!all) return undefined;
    const stride = perCpuValueStride(this.valueSize);
    const out: Buffer[] = [];
    for (let off = 0; off < all.length; off += stride) out.push(all.subarray(off, off + this.valueSize));
    return out;
  }

  close(): void {
    if (this.#fd < 0) return;
    if (this.#owned) {
      fdRegistry.unregister(this);
      native().close(this.#fd);
    }
    this.#fd = -1;
  }

  private checkKey(key: Uint8Array): void {
    if (key.byteLength !== this.keySize) this.sizeError('key', this.keySize, key.byteLength);
  }

  private sizeError(what: string, want: number, got: number): never {
    throw new BpfError(`map ${this.label}: ${what} must be ${want} bytes, got ${got}`, {
      code: 'EINVAL',
      op: 'map access',
      target: this.label,
      hint: `encode ${what}s in the map's layout (${want} bytes)`,
    });
  }
}

/** The addon's cursor state once the map is exhausted (map-ops.cc). */
const CURSOR_DONE = 3;

/** Reads one chunk into the packed buffers; -1 when one bucket needs more room than `max`. */
type ChunkReader = (cursor: Buffer, keys: Buffer, values: Buffer, max: number) => number;

/** One chunk of a {@link MapDumpCursor}: `count` packed keys and values, valid until the next call. */
export interface MapDumpChunk {
  readonly keys: Buffer;
  readonly values: Buffer;
  readonly count: number;
}

/** Where a chunked dump of one map stands (see {@link BpfMap.dumpCursor}). */
export class MapDumpCursor {
  readonly keySize: number;
  readonly valueSize: number;
  readonly #read: ChunkReader;
  /** State byte, then the resume token or last key (the addon's layout). */
  readonly #cursor: Buffer;
  #max: number;
  #keys: Buffer;
  #values: Buffer;
  #done = false;

  constructor(map: Pick<BpfMap, 'keySize' | 'valueBufferSize'>, read: ChunkReader, chunkEntries: number) {
    if (!Number.isInteger(chunkEntries) || chunkEntries <= 0) {
      throw new BpfError(`dump cursor: chunk size must be a positive integer, got ${chunkEntries}`, {
        code: 'EINVAL',
        op: 'batch lookup',
        target: 'dumpCursor',
        hint: 'pass the number of entries to read per call',
      });
    }
    this.keySize = map.keySize;
    this.valueSize = map.valueBufferSize;
    this.#read = read;
    this.#cursor = Buffer.alloc(8 + Math.max(8, map.keySize));
    this.#max = chunkEntries;
    this.#keys = Buffer.allocUnsafe(chunkEntries * map.keySize);
    this.#values = Buffer.allocUnsafe(chunkEntries * map.valueBufferSize);
  }

  /** Whether the map has been read to its end. */
  get done(): boolean {
    return this.#done;
  }

  /** The next chunk (possibly empty at the end), or undefined once the map has been read to its end. */
  next(): MapDumpChunk | undefined {
    if (this.#done) return undefined;
    for (;;) {
      const n = this.#read(this.#cursor, this.#keys, this.#values, this.#max);
      if (n >= 0) {
        this.#done = this.#cursor[0] === CURSOR_DONE;
        return { keys: this.#keys.subarray(0, n * this.keySize), values: this.#values.subarray(0, n * this.valueSize), count: n };
      }
      // One hash bucket holds more entries than a chunk: make room for it and read it again.
      this.#max *= 2;
      this.#keys = Buffer.allocUnsafe(this.#max * this.keySize);
      this.#values = Buffer.allocUnsafe(this.#max * this.valueSize);
    }
  }
}
