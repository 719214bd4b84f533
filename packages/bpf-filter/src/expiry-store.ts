import { BpfMap, MapType, PinTransaction } from '@dnsdist-ts/bpf';
import { BPFFilterError } from './bpf-filter-error.js';
import type { MonotonicNs } from './monotonic-clock.js';

/** Suffix of the pin path of an expiry map, next to the map it describes. */
export const EXPIRY_SUFFIX = '-expiry';

/**
 * When each expiring entry of one filter map lapses, kept in a hash map of
 * our own (same key as the filter map, value u64 CLOCK_MONOTONIC ns) and
 * pinned next to it as `<path>-expiry`. dnsdist and its XDP program never
 * look at it, so the filter maps keep dnsdist's exact layout, while a
 * restarted dnsdist-ts still knows which entries are temporary and when
 * they end. Entries without an expiry record are permanent (manual blocks).
 */
export class ExpiryStore {
  readonly #map: BpfMap;
  readonly #value = Buffer.alloc(8);

  private constructor(map: BpfMap) {
    this.#map = map;
  }

  /**
   * Open the store for a filter map: the expiry map pinned beside it, or a
   * new one pinned there (with `pins`: its pin planned there, made when
   * the caller commits).
   */
  static forMap(dataMap: BpfMap, pinnedPath: string | undefined, pins?: PinTransaction): ExpiryStore {
    if (pins === undefined) {
      const own = new PinTransaction();
      const store = ExpiryStore.forMap(dataMap, pinnedPath, own);
      try {
        own.commit();
      } catch (err) {
        store.close();
        throw err;
      }
      return store;
    }
    const path = pinnedPath ? `${pinnedPath}${EXPIRY_SUFFIX}` : undefined;
    const spec = {
      type: MapType.Hash,
      name: 'dts_expiry',
      keySize: dataMap.keySize,
      valueSize: 8,
      maxEntries: Math.max(dataMap.maxEntries, 1),
    };
    const { map } = pins.openOrCreate(spec, path, (existing) => {
      if (existing.type !== MapType.Hash || existing.keySize !== dataMap.keySize || existing.valueSize !== 8) {
        throw new BPFFilterError(
          `the expiry map at ${path} does not match ${pinnedPath} (key ${dataMap.keySize} B, value 8 B expected): remove it (rm ${path}); the blocks it timed become permanent until removed`,
          path,
        );
      }
    });
    return new ExpiryStore(map);
  }

  /**
   * The expiry map another thread of this process opened (fd `fd`), on a
   * duplicate of that fd, checked against `dataMap` as forMap checks a pinned one.
   */
  static sharing(fd: number, dataMap: BpfMap): ExpiryStore {
    const map = BpfMap.borrow(fd).duplicate();
    if (map.type !== MapType.Hash || map.keySize !== dataMap.keySize || map.valueSize !== 8) {
      map.close();
      throw new BPFFilterError(
        `the expiry map to share (fd ${fd}) does not match its filter map (key ${dataMap.keySize} B, value 8 B expected)`,
        fd,
      );
    }
    return new ExpiryStore(map);
  }

  /** The expiry map's fd (for another thread to share it: ExpiryStore.sharing). */
  get fd(): number {
    return this.#map.fd;
  }

  set(key: Uint8Array, until: MonotonicNs): void {
    this.#value.writeBigUInt64LE(until);
    this.#map.update(key, this.#value);
  }

  get(key: Uint8Array): MonotonicNs | undefined {
    return this.#map.lookupInto(key, this.#value) ? this.#value.readBigUInt64LE() : undefined;
  }

  delete(key: Uint8Array): void {
    this.#map.delete(key);
  }

  /** Every (key, expiry) pair. */
  all(): Array<[Buffer, MonotonicNs]> {
    return this.#map.dump().map(([k, v]) => [k, v.readBigUInt64LE()]);
  }

  close(): void {
    this.#map.close();
  }
}
