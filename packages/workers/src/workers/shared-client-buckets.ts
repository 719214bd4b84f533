/**
 * MaxQPSIPRule's per-client buckets shared by every data-plane worker, so
 * that its limit applies to what a client sends in total, not to each
 * worker's share. One table per rule in a SharedArrayBuffer: open
 * addressing keyed by the masked address, one GCRA word per client
 * (shared-token-buckets.ts explains GCRA), updated with compare-and-swap:
 * no lock and no message per query.
 *
 * A slot is 32 bytes: a state word (generation << 2 | status), the family,
 * four address words and the 64-bit "theoretical arrival time" (µs). A
 * client unseen for the rule's expiration is stale: its slot is taken over
 * by the next new client that probes it (a generation bump, so a reader
 * that was comparing its key notices). A client that finds no slot within
 * MAX_PROBES (the table is full of live clients) is counted by the
 * worker's own buckets instead (the caller's fallback).
 */
import type { SharedClientBuckets, SharedClientRule } from '@dnsdist-ts/dataplane/rules/selectors/max-qps-ip-rule.js';
import { MaxQPSIPRule } from '@dnsdist-ts/dataplane/rules/selectors/max-qps-ip-rule.js';

const SLOT_BYTES = 32;
const SLOT_INTS = SLOT_BYTES / 4;
/** Clients per rule: 2 MiB of shared memory each. */
export const CLIENT_TABLE_SLOTS = 65536;
/** Slots looked at for one client before giving up on the shared table. */
const MAX_PROBES = 32;
/** Spins waiting for another thread to finish writing a slot's key (a handful of stores) before passing it by. */
const MAX_SPINS = 1000;

const EMPTY = 0;
const WRITING = 1;
const READY = 2;

/** A rate of 0 never refills. */
const NEVER = 1n << 60n;

/** Microseconds since the epoch, the same in every thread of the process. */
function nowMicros(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
}

/** Word `index` of `bytes` with only the first `bits` bits of the whole address kept. */
function maskedWord(bytes: Uint8Array, index: number, bits: number): number {
  const o = index * 4;
  if (o >= bytes.length) return 0;
  const word = (bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]! | 0;
  const keep = bits - index * 32;
  if (keep >= 32) return word;
  if (keep <= 0) return 0;
  return word & (0xffffffff << (32 - keep));
}

/** One MaxQPSIPRule's table, seen from one thread. */
export class SharedClientTable implements SharedClientBuckets {
  readonly buffer: SharedArrayBuffer;
  readonly #i32: Int32Array;
  readonly #i64: BigInt64Array;
  readonly #mask: number;
  readonly #v4Bits: number;
  readonly #v6Bits: number;
  readonly #interval: bigint;
  readonly #tolerance: bigint;
  readonly #expiration: bigint;

  constructor(buffer: SharedArrayBuffer, rule: { qps: number; burst: number; v4Mask: number; v6Mask: number; expirationMs: number }) {
    const slots = buffer.byteLength / SLOT_BYTES;
    if (!Number.isInteger(slots) || slots < 1 || (slots & (slots - 1)) !== 0) {
      throw new Error(`a shared client table needs a power of two of ${SLOT_BYTES}-byte slots, got ${buffer.byteLength} bytes`);
    }
    this.buffer = buffer;
    this.#i32 = new Int32Array(buffer);
    this.#i64 = new BigInt64Array(buffer);
    this.#mask = slots - 1;
    this.#v4Bits = rule.v4Mask;
    this.#v6Bits = rule.v6Mask;
    this.#interval = rule.qps > 0 ? BigInt(Math.max(1, Math.round(1e6 / rule.qps))) : NEVER;
    this.#tolerance = rule.burst > 0 ? BigInt(rule.burst - 1) * this.#interval : -1n;
    this.#expiration = BigInt(Math.round(rule.expirationMs * 1000));
  }

  /** A new, empty table's memory. */
  static allocate(slots = CLIENT_TABLE_SLOTS): SharedArrayBuffer {
    return new SharedArrayBuffer(slots * SLOT_BYTES);
  }

  take(address: Uint8Array): boolean | undefined {
    const family = address.length === 4 ? 4 : 6;
    const bits = family === 4 ? this.#v4Bits : this.#v6Bits;
    const w0 = maskedWord(address, 0, bits);
    const w1 = maskedWord(address, 1, bits);
    const w2 = maskedWord(address, 2, bits);
    const w3 = maskedWord(address, 3, bits);
    const now = nowMicros();
    const slot = this.#find(family, w0, w1, w2, w3, now);
    if (slot < 0) return undefined;
    return this.#takeAt(slot * 4 + 3, now);
  }

  /** The slot holding this client, claimed for it when new; -1 when none within MAX_PROBES. */
  #find(family: number, w0: number, w1: number, w2: number, w3: number, now: bigint): number {
    const i32 = this.#i32;
    let h = Math.imul(family ^ w0, 0x9e3779b1);
    h = Math.imul(h ^ w1 ^ (h >>> 15), 0x85ebca77);
    h = Math.imul(h ^ w2 ^ (h >>> 13), 0xc2b2ae3d);
    h = Math.imul(h ^ w3 ^ (h >>> 16), 0x27d4eb2f);
    h ^= h >>> 15;
    for (let attempt = 0; attempt < 4; attempt++) {
      let stale = -1;
      let staleState = 0;
      let empty = -1;
      for (let p = 0; p < MAX_PROBES; p++) {
        const slot = (h + p) & this.#mask;
        const b = slot * SLOT_INTS;
        let state = Atomics.load(i32, b);
        for (let spins = 0; (state & 3) === WRITING && spins < MAX_SPINS; spins++) state = Atomics.load(i32, b);
        if ((state & 3) === EMPTY) {
          empty = slot;
          break;
        }
        if ((state & 3) !== READY) continue;
        if (
          Atomics.load(i32, b + 1) === family &&
          Atomics.load(i32, b + 2) === w0 &&
          Atomics.load(i32, b + 3) === w1 &&
          Atomics.load(i32, b + 4) === w2 &&
          Atomics.load(i32, b + 5) === w3 &&
          Atomics.load(i32, b) === state
        ) {
          return slot;
        }
        if (stale < 0 && Atomics.load(this.#i64, slot * 4 + 3) + this.#expiration < now) {
          stale = slot;
          staleState = state;
        }
      }
      // Not there: a stale slot on the way is taken over first, else the first empty one.
      const claim = stale >= 0 ? stale : empty;
      if (claim < 0) return -1;
      const b = claim * SLOT_INTS;
      const expected = stale >= 0 ? staleState : EMPTY;
      const generation = (expected >>> 2) + 1;
      if (Atomics.compareExchange(i32, b, expected, (generation << 2) | WRITING) !== expected) continue; // someone else took it: look again
      Atomics.store(i32, b + 1, family);
      Atomics.store(i32, b + 2, w0);
      Atomics.store(i32, b + 3, w1);
      Atomics.store(i32, b + 4, w2);
      Atomics.store(i32, b + 5, w3);
      Atomics.store(this.#i64, claim * 4 + 3, 0n);
      Atomics.store(i32, b, (generation << 2) | READY);
      return claim;
    }
    return -1;
  }

  #takeAt(index: number, now: bigint): boolean {
    const words = this.#i64;
    for (;;) {
      const tat = Atomics.load(words, index);
      const from = tat > now ? tat : now;
      if (from - now > this.#tolerance) return false;
      if (Atomics.compareExchange(words, index, tat, from + this.#interval) === tat) return true;
    }
  }

  get entries(): number {
    const now = nowMicros();
    let n = 0;
    for (let slot = 0; slot <= this.#mask; slot++) {
      if ((Atomics.load(this.#i32, slot * SLOT_INTS) & 3) === READY && Atomics.load(this.#i64, slot * 4 + 3) + this.#expiration >= now) n++;
    }
    return n;
  }

  clear(): void {
    for (let slot = 0; slot <= this.#mask; slot++) Atomics.store(this.#i32, slot * SLOT_INTS, EMPTY);
  }
}

/**
 * Hands MaxQPSIPRules their shared tables as they are created, in creation
 * order. The control plane's own rules answer nothing: there it only counts
 * the rules a configuration or a console command creates, and makes that
 * many tables for the workers (newTables). A worker's rules take the
 * tables it was given, in the same order; one created outside those runs
 * (inside a Lua function at query time) keeps its own buckets.
 */
export class ClientTableHook {
  #given: readonly SharedArrayBuffer[] = [];
  #next = 0;
  #created = 0;

  readonly #hook = (rule: SharedClientRule): SharedClientTable | undefined => {
    this.#created++;
    const buffer = this.#given[this.#next];
    if (!buffer) return undefined;
    this.#next++;
    return new SharedClientTable(buffer, rule);
  };

  /** From now on: count the rules created (control plane), handing out `given` in order (a worker). */
  begin(given: readonly SharedArrayBuffer[] = []): void {
    // Installed at each run rather than once: another app in the same thread (tests) may have installed its own.
    MaxQPSIPRule.sharedBuckets = this.#hook;
    this.#given = given;
    this.#next = 0;
    this.#created = 0;
  }

  /** Control plane: a new table for each rule created since begin(). */
  newTables(): SharedArrayBuffer[] {
    const tables = Array.from({ length: this.#created }, () => SharedClientTable.allocate());
    this.begin();
    return tables;
  }
}
