/**
 * The name index read by the XDP filter (contrib/xdp-filter): a pinned
 * array of u64, a Bloom filter over the blocked qnames and the blocked
 * suffixes, so that a query whose name cannot be blocked skips the name
 * lookups. Layout (mirrored in packages/bpf-filter/bpf/dnsdist-maps.h):
 *
 *   [0] slots per fingerprint region (a power of two)
 *   [1] qname part's state: NAME_INDEX_TRUSTED, NAME_INDEX_GUARDED, else off
 *   [2] suffix part's state
 *   [3] [4] guarded parts: usable up to this jiffy (written by the index guard)
 *   [5], [8, 16) the index guard's report (NameIndexGuardReport)
 *   [16, 16 + slots)                    qname fingerprints (two slots each)
 *   [16 + slots, 16 + 2 slots)          suffix fingerprints
 *   [16 + 2 slots, + 256)               qname wire lengths
 *   [16 + 2 slots + 256, + 256)         suffix wire lengths
 *
 * The rules that keep the index from hiding a blocked name: a dnsdist-ts
 * writer sets a name's slots before inserting its entry and again after
 * (the second write survives a concurrent rebuild's clearing); writers
 * only ever store 1 (no read-modify-write to lose); only a rebuild clears
 * slots, under a lock, with its part off until it has re-added every entry
 * present after the clearing. Removing an entry leaves its slots set: a
 * stale slot costs a lookup, never a miss.
 *
 * Writers that do not know the index (dnsdist, bpftool, scripts) are why
 * a part is normally GUARDED: the XDP program uses it only while the index
 * guard (contrib/xdp-filter/bpf/index-guard.bpf.c) has recently marked
 * every entry of the maps. A TRUSTED part is used without that check: the
 * operator's promise that every writer is dnsdist-ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, MapType } from '@dnsdist-ts/bpf';
import { BPFFilterError } from './bpf-filter-error.js';
import {
  NAME_INDEX_FIRST_SLOT,
  NAME_INDEX_GUARDED,
  NAME_INDEX_GUARD_FRESH_NS,
  NAME_INDEX_GUARD_PERIOD_NS,
  NAME_INDEX_GUARD_TICK_NS,
  NAME_INDEX_LENGTHS,
  NAME_INDEX_MAX_SLOTS,
  NAME_INDEX_MIN_SLOTS,
  NAME_INDEX_QNAMES,
  NAME_INDEX_QNAMES_SCANNED,
  NAME_INDEX_SCAN_NS,
  NAME_INDEX_SCAN_QNAMES,
  NAME_INDEX_SCAN_SUFFIXES,
  NAME_INDEX_SCAN_UNVERIFIED,
  NAME_INDEX_SLOTS,
  NAME_INDEX_SUFFIXES,
  NAME_INDEX_SUFFIXES_SCANNED,
  NAME_INDEX_TRUSTED,
} from './generated/layouts.js';
import { fingerprintSlots, qnameFingerprint, suffixFingerprint } from './name-fingerprint.js';
import { withNameIndexLock } from './name-index-lock.js';
import { nowNs } from './monotonic-clock.js';

/** File name of the index in the pin directory (next to `qnames` and `suffixes`). */
export const NAME_INDEX_PIN = 'name-index';
/**
 * A part's state word: TRUSTED, the program uses it as is (every writer marks
 * what it inserts); GUARDED, only while the index guard vouches for it; any
 * other value, off. And the slot counts the program accepts.
 */
export { NAME_INDEX_TRUSTED, NAME_INDEX_GUARDED, NAME_INDEX_MIN_SLOTS, NAME_INDEX_MAX_SLOTS };
const HEADER = NAME_INDEX_FIRST_SLOT;
/** The first layout's header (no guard words); still marked correctly by writers, replaced by the loader. */
const LEGACY_HEADER = 3;
const LENGTHS = NAME_INDEX_LENGTHS;
const WORD = {
  state: { qnames: NAME_INDEX_QNAMES, suffixes: NAME_INDEX_SUFFIXES },
  scanned: { qnames: NAME_INDEX_QNAMES_SCANNED, suffixes: NAME_INDEX_SUFFIXES_SCANNED },
  periodNs: NAME_INDEX_GUARD_PERIOD_NS,
  scanNs: NAME_INDEX_SCAN_NS,
  scanQnames: NAME_INDEX_SCAN_QNAMES,
  scanSuffixes: NAME_INDEX_SCAN_SUFFIXES,
  scanUnverified: NAME_INDEX_SCAN_UNVERIFIED,
  freshNs: NAME_INDEX_GUARD_FRESH_NS,
  tickNs: NAME_INDEX_GUARD_TICK_NS,
} as const;

/** Which entries a region covers. */
export type NameIndexRegion = 'qnames' | 'suffixes';

/**
 * How the XDP program may use a part: `trusted` as is, `guarded` while the
 * index guard vouches for it, `off` never (every name is looked up).
 */
export type NameIndexRegionMode = 'trusted' | 'guarded' | 'off';

export interface NameIndexRegionState {
  mode: NameIndexRegionMode;
  /** Guarded: ms since the start of the guard's last scan that vouched for the part (undefined: never). */
  vouchedMsAgo?: number;
  /** Whether the program rules names out with this part now (guarded: as far as CLOCK_MONOTONIC tells). */
  inUse: boolean;
}

/** What the index guard last reported in the index header. */
export interface NameIndexGuardReport {
  /** How long one scan vouches for a part (ms); 0: no guard has run on this index. */
  freshMs: number;
  /** Time between scans (ms): the configured period, longer when scans are slow (at most 1/20 of a CPU). */
  periodMs: number;
  /** The last scan's duration (µs). */
  scanUs: number;
  /** Entries the last scan walked (0 when it gave up over its budget). */
  qnameEntries: number;
  suffixEntries: number;
  /** Suffix entries whose value does not name their key: they keep the suffix part from being vouched for. */
  unverifiedSuffixes: number;
  /** The guard's measure of a jiffy (µs); 0 while it is still measuring. */
  jiffyUs: number;
}

export interface NameIndexState {
  slots: number;
  qnames: NameIndexRegionState;
  suffixes: NameIndexRegionState;
  guard: NameIndexGuardReport;
}

/** What a rebuild's scan found: the names it can mark, and whether they are every entry. */
export interface NameIndexScan {
  names: Iterable<Uint8Array>;
  /** False when some entry could not be turned into a name (a suffix value that does not name its key). */
  complete: boolean;
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
function entriesFor(slots: number, header = HEADER): number {
  return header + 2 * slots + 2 * LENGTHS;
}

function modeOf(state: bigint | undefined): NameIndexRegionMode {
  return state === NAME_INDEX_TRUSTED ? 'trusted' : state === NAME_INDEX_GUARDED ? 'guarded' : 'off';
}

export class NameIndex {
  private constructor(
    readonly map: BpfMap,
    readonly slots: number,
    /** The index of the first fingerprint slot: NAME_INDEX_FIRST_SLOT, or 3 in the first layout. */
    readonly header = HEADER,
  ) {}

  /** An index in the first layout (before the guard): the loader replaces it. */
  get legacy(): boolean {
    return this.header === LEGACY_HEADER;
  }

  /** Create an index (both regions off) and pin it at `path`. */
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
    if (map.maxEntries === entriesFor(slots)) return new NameIndex(map, slots);
    if (map.maxEntries === entriesFor(slots, LEGACY_HEADER)) return new NameIndex(map, slots, LEGACY_HEADER);
    map.close();
    throw damaged(path, slots, map.maxEntries);
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
    const w = (k: number) => this.map.lookup(u32(k))?.readBigUInt64LE(0) ?? 0n;
    const guard = this.legacy
      ? { freshMs: 0, periodMs: 0, scanUs: 0, qnameEntries: 0, suffixEntries: 0, unverifiedSuffixes: 0, jiffyUs: 0 }
      : {
          freshMs: Number(w(WORD.freshNs)) / 1e6,
          periodMs: Number(w(WORD.periodNs)) / 1e6,
          scanUs: Number(w(WORD.scanNs)) / 1e3,
          qnameEntries: Number(w(WORD.scanQnames)),
          suffixEntries: Number(w(WORD.scanSuffixes)),
          unverifiedSuffixes: Number(w(WORD.scanUnverified)),
          jiffyUs: Number(w(WORD.tickNs)) / 1e3,
        };
    const now = nowNs(); // the guard's bpf_ktime_get_ns is CLOCK_MONOTONIC too
    const region = (r: NameIndexRegion): NameIndexRegionState => {
      const mode = modeOf(w(WORD.state[r]));
      if (mode !== 'guarded') return { mode, inUse: mode === 'trusted' };
      const scanned = w(WORD.scanned[r]);
      if (scanned === 0n) return { mode, inUse: false };
      const vouchedMsAgo = Number(now - scanned) / 1e6;
      return { mode, vouchedMsAgo, inUse: vouchedMsAgo <= guard.freshMs };
    };
    return { slots: this.slots, qnames: region('qnames'), suffixes: region('suffixes'), guard };
  }

  /**
   * Whether the guard's last scan that vouched for `region` started after
   * `monotonicNs` (nowNs()): every entry written before
   * then is marked.
   */
  vouchedSince(region: NameIndexRegion, monotonicNs: bigint): boolean {
    return !this.legacy && (this.map.lookup(u32(WORD.scanned[region]))?.readBigUInt64LE(0) ?? 0n) > monotonicNs;
  }

  /** Set the slots of a lower-cased wire name: its length and its fingerprint's two (one batch syscall). */
  add(region: NameIndexRegion, lowerWire: Uint8Array): void {
    this.addMany(region, [lowerWire]);
  }

  addMany(region: NameIndexRegion, names: Iterable<Uint8Array>): void {
    const base = this.header + (region === 'qnames' ? 0 : this.slots);
    const lengths = this.header + 2 * this.slots + (region === 'qnames' ? 0 : LENGTHS);
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
    const base = this.header + (region === 'qnames' ? 0 : this.slots);
    const lengths = this.header + 2 * this.slots + (region === 'qnames' ? 0 : LENGTHS);
    return set(lengths + (lowerWire.byteLength & 0xff)) && fingerprintSlots(fingerprint(lowerWire), this.slots).every((s) => set(base + s));
  }

  /**
   * Rebuild a part and set its mode: mark it off, clear it, add every name
   * `scan()` yields (called after the clearing, so that it sees every entry
   * whose writer's second note the clearing may have erased), then set
   * `mode`. A trusted part needs every entry: a scan that is not complete
   * leaves it off. A guarded part is set whatever the scan found: the guard
   * does not vouch for it while an entry it cannot mark exists, and marks
   * the rest itself. Returns whether the part is now `mode`.
   */
  rebuild(region: NameIndexRegion, scan: () => NameIndexScan, mode: 'trusted' | 'guarded'): boolean {
    if (this.legacy)
      throw new BPFFilterError(
        `the name index (map id ${this.mapId}) has the first layout: attach the XDP filter again to replace it`,
        this.mapId,
      );
    return withNameIndexLock(this.mapId, () => {
      this.setState(region, 0n);
      const zero = u64(0n);
      const clear = (from: number, count: number) => {
        for (let off = 0; off < count; off += 4096)
          this.store(
            Array.from({ length: Math.min(4096, count - off) }, (_, i) => from + off + i),
            zero,
          );
      };
      clear(this.header + (region === 'qnames' ? 0 : this.slots), this.slots);
      clear(this.header + 2 * this.slots + (region === 'qnames' ? 0 : LENGTHS), LENGTHS);
      const found = scan();
      this.addMany(region, found.names);
      if (mode === 'trusted' && !found.complete) return false;
      this.setState(region, mode === 'trusted' ? NAME_INDEX_TRUSTED : NAME_INDEX_GUARDED);
      return true;
    });
  }

  /** Switch a part off: the XDP program then looks every name up. */
  disable(region: NameIndexRegion): void {
    withNameIndexLock(this.mapId, () => this.setState(region, 0n));
  }

  /**
   * Before the pin of an index in the first layout is replaced: switch its
   * parts off, so that a program still reading it looks every name up.
   */
  retire(): void {
    this.map.update(u32(WORD.state.qnames), u64(0n));
    this.map.update(u32(WORD.state.suffixes), u64(0n));
  }

  close(): void {
    this.map.close();
  }

  private setState(region: NameIndexRegion, value: bigint): void {
    this.map.update(u32(WORD.state[region]), u64(value));
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
