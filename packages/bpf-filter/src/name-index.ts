/**
 * The name index read by the XDP filter (contrib/xdp-filter): a pinned
 * array of u64, a Bloom filter over the blocked qnames and the blocked
 * suffixes, so that a query whose name cannot be blocked skips the name
 * lookups. Layout (mirrored in packages/bpf-filter/bpf/dnsdist-maps.h):
 *
 *   [0] slots per fingerprint region (a power of two)
 *   [1] NAME_INDEX_VALID when the qname part is complete, else anything
 *   [2] NAME_INDEX_VALID when the suffix part is complete, else anything
 *   [3, 3 + slots)                      qname fingerprints (two slots each)
 *   [3 + slots, 3 + 2 slots)            suffix fingerprints
 *   [3 + 2 slots, + 256)                qname wire lengths
 *   [3 + 2 slots + 256, + 256)          suffix wire lengths
 *
 * The rules that keep "complete" true (never a blocked name the program
 * skips): a writer sets a name's slots before inserting its entry and again
 * after (the second write survives a concurrent rebuild's clearing); writers
 * only ever store 1 (no read-modify-write to lose); only a rebuild clears
 * slots, under a lock, with its part marked incomplete until it has
 * re-added every entry present after the clearing. Removing an entry
 * leaves its slots set: a stale slot costs a lookup, never a miss.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, MapType } from '@dnsdist-ts/bpf';
import { BPFFilterError } from './bpf-filter-error.js';
import {
  NAME_INDEX_FIRST_SLOT,
  NAME_INDEX_LENGTHS,
  NAME_INDEX_MAX_SLOTS,
  NAME_INDEX_MIN_SLOTS,
  NAME_INDEX_QNAMES,
  NAME_INDEX_SLOTS,
  NAME_INDEX_SUFFIXES,
  NAME_INDEX_VALID,
} from './generated/layouts.js';
import { fingerprintSlots, qnameFingerprint, suffixFingerprint } from './name-fingerprint.js';
import { withNameIndexLock } from './name-index-lock.js';

/** File name of the index in the pin directory (next to `qnames` and `suffixes`). */
export const NAME_INDEX_PIN = 'name-index';
/** The "complete" marker of a region (any other value means incomplete), and the slot counts the program accepts. */
export { NAME_INDEX_VALID, NAME_INDEX_MIN_SLOTS, NAME_INDEX_MAX_SLOTS };
const HEADER = NAME_INDEX_FIRST_SLOT;
const LENGTHS = NAME_INDEX_LENGTHS;
const REGION_FLAG = { qnames: NAME_INDEX_QNAMES, suffixes: NAME_INDEX_SUFFIXES } as const;

/** Which entries a region covers. */
export type NameIndexRegion = 'qnames' | 'suffixes';

export interface NameIndexState {
  slots: number;
  qnames: boolean;
  suffixes: boolean;
}

/** Slots per region for maps of `maxEntries` names: 16 per entry (about 1.4 % false positives when full). */
export function nameIndexSlotsFor(maxEntries: number): number {
  let slots = NAME_INDEX_MIN_SLOTS;
  while (slots < maxEntries * 16 && slots < NAME_INDEX_MAX_SLOTS) slots *= 2;
  return slots;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

const ONE = u64(1n);

function damaged(path: string, slots?: number, entries?: number): BPFFilterError {
  const what = slots === undefined ? 'its slot count is not one the XDP program accepts' : `${entries} entries for ${slots} slots`;
  return new BPFFilterError(
    `the name index pinned at ${path} is damaged (${what}): remove it (rm ${path}) and attach the XDP filter again to recreate it`,
    path,
  );
}

/** What the XDP program accepts as a slot count (anything else: it ignores the index). */
function validSlotCount(slots: number): boolean {
  return slots >= NAME_INDEX_MIN_SLOTS && slots <= NAME_INDEX_MAX_SLOTS && (slots & (slots - 1)) === 0;
}

/** Array entries of an index with `slots` slots per fingerprint region. */
function entriesFor(slots: number): number {
  return HEADER + 2 * slots + 2 * LENGTHS;
}

export class NameIndex {
  private constructor(
    readonly map: BpfMap,
    readonly slots: number,
  ) {}

  /** Create an index (both regions incomplete) and pin it at `path`. */
  static create(path: string, slots: number): NameIndex {
    if (!validSlotCount(slots))
      throw new BPFFilterError(
        `name index size ${slots} is not a power of two between ${NAME_INDEX_MIN_SLOTS} and ${NAME_INDEX_MAX_SLOTS}`,
        slots,
      );
    const map = BpfMap.create({ type: MapType.Array, name: 'nameindex', keySize: 4, valueSize: 8, maxEntries: entriesFor(slots) });
    try {
      map.update(u32(NAME_INDEX_SLOTS), u64(BigInt(slots)));
      map.pin(path);
    } catch (err) {
      map.close();
      throw err;
    }
    return new NameIndex(map, slots);
  }

  /** Open the index pinned at `path`, checking its layout and header. */
  static openPinned(path: string): NameIndex {
    const index = NameIndex.open(path);
    if (index) return index;
    throw damaged(path);
  }

  /**
   * The index at `path`, or undefined when its slot count is one the XDP
   * program rejects (it then never trusts the index). Throws when the map
   * is no name index, or its size does not match its slot count.
   */
  private static open(path: string): NameIndex | undefined {
    const map = BpfMap.openPinned(path, { type: MapType.Array, keySize: 4, valueSize: 8 });
    const slots = Number(map.lookup(u32(NAME_INDEX_SLOTS))?.readBigUInt64LE(0) ?? 0n);
    if (!validSlotCount(slots)) {
      map.close();
      return undefined;
    }
    if (map.maxEntries !== entriesFor(slots)) {
      map.close();
      throw damaged(path, slots, map.maxEntries);
    }
    return new NameIndex(map, slots);
  }

  /** The index pinned in `dir`, or undefined when there is none. */
  static openIn(dir: string): NameIndex | undefined {
    const path = join(dir, NAME_INDEX_PIN);
    return existsSync(path) ? NameIndex.openPinned(path) : undefined;
  }

  /**
   * Writers' hook: set the slots of `lowerWire` in the index pinned in
   * `dir`, if there is one. Call it before inserting the entry and again
   * after (see the protocol above). Opens the pin each time, so an index
   * created after the writer started is never missed.
   */
  static note(dir: string | undefined, region: NameIndexRegion, lowerWire: Uint8Array): void {
    if (dir === undefined) return;
    const path = join(dir, NAME_INDEX_PIN);
    if (!existsSync(path)) return;
    // An index whose slot count the XDP program rejects is one it never trusts: nothing to keep up.
    const index = NameIndex.open(path);
    if (!index) return;
    try {
      index.add(region, lowerWire);
    } finally {
      index.close();
    }
  }

  get mapId(): number {
    return this.map.info().id;
  }

  state(): NameIndexState {
    const flag = (k: number) => this.map.lookup(u32(k))?.readBigUInt64LE(0) === NAME_INDEX_VALID;
    return { slots: this.slots, qnames: flag(REGION_FLAG.qnames), suffixes: flag(REGION_FLAG.suffixes) };
  }

  /** Set the slots of a lower-cased wire name: its length and its fingerprint's two (one batch syscall). */
  add(region: NameIndexRegion, lowerWire: Uint8Array): void {
    this.addMany(region, [lowerWire]);
  }

  addMany(region: NameIndexRegion, names: Iterable<Uint8Array>): void {
    const base = HEADER + (region === 'qnames' ? 0 : this.slots);
    const lengths = HEADER + 2 * this.slots + (region === 'qnames' ? 0 : LENGTHS);
    const fingerprint = region === 'qnames' ? qnameFingerprint : suffixFingerprint;
    const keys: number[] = [];
    for (const name of names) {
      keys.push(lengths + (name.byteLength & 0xff));
      for (const s of fingerprintSlots(fingerprint(name), this.slots)) keys.push(base + s);
    }
    for (let off = 0; off < keys.length; off += 4096) this.store(keys.slice(off, off + 4096), ONE);
  }

  /** Whether the index lets a name through to the lookups (its length and fingerprint slots are all set). */
  mayHold(region: NameIndexRegion, lowerWire: Uint8Array): boolean {
    const set = (k: number) => this.map.lookup(u32(k))?.readBigUInt64LE(0) !== 0n;
    const fingerprint = region === 'qnames' ? qnameFingerprint : suffixFingerprint;
    const base = HEADER + (region === 'qnames' ? 0 : this.slots);
    const lengths = HEADER + 2 * this.slots + (region === 'qnames' ? 0 : LENGTHS);
    return set(lengths + (lowerWire.byteLength & 0xff)) && fingerprintSlots(fingerprint(lowerWire), this.slots).every((s) => set(base + s));
  }

  /**
   * Make a region complete: mark it incomplete, clear it, add every name
   * `scan()` yields (called after the clearing, so that it sees every entry
   * whose writer's second note the clearing may have erased), and mark it
   * complete. `scan` returns undefined when it cannot vouch for every entry:
   * the region then stays incomplete. Returns whether it is complete.
   */
  rebuild(region: NameIndexRegion, scan: () => Iterable<Uint8Array> | undefined): boolean {
    return withNameIndexLock(this.mapId, () => {
      this.setFlag(region, 0n);
      const zero = u64(0n);
      const clear = (from: number, count: number) => {
        for (let off = 0; off < count; off += 4096)
          this.store(
            Array.from({ length: Math.min(4096, count - off) }, (_, i) => from + off + i),
            zero,
          );
      };
      clear(HEADER + (region === 'qnames' ? 0 : this.slots), this.slots);
      clear(HEADER + 2 * this.slots + (region === 'qnames' ? 0 : LENGTHS), LENGTHS);
      const names = scan();
      if (names === undefined) return false;
      this.addMany(region, names);
      this.setFlag(region, NAME_INDEX_VALID);
      return true;
    });
  }

  /** Mark a region incomplete: the XDP program then looks every name up. */
  disable(region: NameIndexRegion): void {
    withNameIndexLock(this.mapId, () => this.setFlag(region, 0n));
  }

  close(): void {
    this.map.close();
  }

  private setFlag(region: NameIndexRegion, value: bigint): void {
    this.map.update(u32(REGION_FLAG[region]), u64(value));
  }

  private store(keys: number[], value: Buffer): void {
    if (keys.length === 0) return;
    const k = Buffer.alloc(keys.length * 4);
    const v = Buffer.alloc(keys.length * 8);
    keys.forEach((key, i) => {
      k.writeUInt32LE(key, i * 4);
      value.copy(v, i * 8);
    });
    this.map.updateBatchRaw(k, v, keys.length);
  }
}
