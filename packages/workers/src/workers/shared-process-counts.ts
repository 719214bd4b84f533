/**
 * What dnsdist counts once per process, shared by every data-plane worker
 * in one SharedArrayBuffer (server/process-wide-counts.ts says what): the
 * roundrobin position, each TCP listener's open connections and each
 * client's. Updated with Atomics (add, compare-and-swap): no lock and no
 * message per query or connection.
 *
 * Each count has a total, which the limits are checked against, and a
 * share per worker, which only that worker changes: when a worker dies its
 * connections are gone with it, and the control plane takes its shares
 * off the totals (releaseWorker) before starting its replacement. A worker
 * ended between the two stores of one acquire leaks that one connection.
 *
 * Layout, in 32-bit words: a header (word 0: the roundrobin position),
 * LISTENERS listener counts of 1 + workers words (total, then the shares),
 * then CLIENT_SLOTS client slots of 7 + workers words: a state word
 * (generation << 2 | status), the total, the family, four address words,
 * the shares. A client's slot is found by open addressing on its address;
 * a slot whose total is back to 0 is taken over by the next new client
 * that probes it (a generation bump tells a thread holding the old state).
 * A client that finds no slot within MAX_PROBES (the table is full of
 * clients with connections open) is counted by the worker alone.
 */
import {
  LocalClientConnectionCounts,
  NOT_COUNTED,
  REFUSED,
  type ClientConnectionCounts,
  type ListenerConnectionCount,
  type ListenerKind,
  type ProcessWideCounts,
} from '@dnsdist-ts/dataplane/server/process-wide-counts.js';

const HEADER_WORDS = 16;
/** TCP listeners counted across workers per kind (addLocal/setLocal, addTLSLocal, addDNSCryptBind, addDOHLocal): later ones count per worker. */
export const LISTENERS_PER_KIND = 128;
const KIND_OFFSET: Readonly<Record<ListenerKind, number>> = { plain: 0, tls: 1, dnscrypt: 2, doh: 3 };
const LISTENERS = Object.keys(KIND_OFFSET).length * LISTENERS_PER_KIND;
/** Clients with TCP connections open at once that the table holds. */
export const CLIENT_SLOTS = 65536;
const MAX_PROBES = 32;
/** Spins waiting for another thread to finish writing a slot's address (a handful of stores) before passing it by. */
const MAX_SPINS = 1000;

const EMPTY = 0;
const WRITING = 1;
const READY = 2;

/** The fallback handle: this connection was counted in the worker's own map. */
const LOCAL = -3;

function listenerWords(workers: number): number {
  return 1 + workers;
}

function slotWords(workers: number): number {
  return 7 + workers;
}

function clientBase(workers: number): number {
  return HEADER_WORDS + LISTENERS * listenerWords(workers);
}

/** Word `index` (0-3) of an address, 0 past its end. */
function word(bytes: Uint8Array, index: number): number {
  const o = index * 4;
  if (o >= bytes.length) return 0;
  return (bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]! | 0;
}

class SharedListenerCount implements ListenerConnectionCount {
  readonly #words: Int32Array;
  readonly #base: number;
  readonly #share: number;

  constructor(words: Int32Array, base: number, worker: number) {
    this.#words = words;
    this.#base = base;
    this.#share = base + 1 + worker;
  }

  acquire(max: number): boolean {
    const w = this.#words;
    for (;;) {
      const open = Atomics.load(w, this.#base);
      if (open >= max) return false;
      if (Atomics.compareExchange(w, this.#base, open, open + 1) === open) break;
    }
    Atomics.add(w, this.#share, 1);
    return true;
  }

  release(): void {
    Atomics.sub(this.#words, this.#share, 1);
    Atomics.sub(this.#words, this.#base, 1);
  }

  get open(): number {
    return Atomics.load(this.#words, this.#base);
  }
}

class SharedClientCounts implements ClientConnectionCounts {
  readonly #words: Int32Array;
  readonly #base: number;
  readonly #slotWords: number;
  readonly #worker: number;
  readonly #mask = CLIENT_SLOTS - 1;
  readonly #fallback = new LocalClientConnectionCounts();
  /** The state word of the slot #find() returned, as it read it. */
  #state = 0;

  constructor(words: Int32Array, workers: number, worker: number) {
    this.#words = words;
    this.#base = clientBase(workers);
    this.#slotWords = slotWords(workers);
    this.#worker = worker;
  }

  acquire(client: Uint8Array, max: number): number {
    if (max <= 0) return NOT_COUNTED;
    const family = client.length === 4 ? 4 : 6;
    const w0 = word(client, 0);
    const w1 = word(client, 1);
    const w2 = word(client, 2);
    const w3 = word(client, 3);
    const w = this.#words;
    for (let attempt = 0; attempt < 8; attempt++) {
      const slot = this.#find(family, w0, w1, w2, w3);
      if (slot < 0) break;
      const b = this.#base + slot * this.#slotWords;
      const state = this.#state;
      let counted = false;
      for (;;) {
        const open = Atomics.load(w, b + 1);
        if (open >= max) break;
        if (Atomics.compareExchange(w, b + 1, open, open + 1) === open) {
          counted = true;
          break;
        }
      }
      if (Atomics.load(w, b) !== state) {
        // The slot went to another client meanwhile (it had no connection left): look again.
        if (counted) Atomics.sub(w, b + 1, 1);
        continue;
      }
      if (!counted) return REFUSED;
      Atomics.add(w, b + 7 + this.#worker, 1);
      return slot;
    }
    return this.#fallback.acquire(client, max) === REFUSED ? REFUSED : LOCAL;
  }

  release(client: Uint8Array, handle: number): void {
    if (handle === LOCAL) this.#fallback.release(client, 0);
    if (handle < 0) return;
    const b = this.#base + handle * this.#slotWords;
    Atomics.sub(this.#words, b + 7 + this.#worker, 1);
    Atomics.sub(this.#words, b + 1, 1);
  }

  /** The slot holding this client, claimed for it when new; -1 when none within MAX_PROBES. Sets #state. */
  #find(family: number, w0: number, w1: number, w2: number, w3: number): number {
    const w = this.#words;
    let h = Math.imul(family ^ w0, 0x9e3779b1);
    h = Math.imul(h ^ w1 ^ (h >>> 15), 0x85ebca77);
    h = Math.imul(h ^ w2 ^ (h >>> 13), 0xc2b2ae3d);
    h = Math.imul(h ^ w3 ^ (h >>> 16), 0x27d4eb2f);
    h ^= h >>> 15;
    for (let attempt = 0; attempt < 4; attempt++) {
      let free = -1;
      let freeState = 0;
      for (let p = 0; p < MAX_PROBES; p++) {
        const slot = (h + p) & this.#mask;
        const b = this.#base + slot * this.#slotWords;
        let state = Atomics.load(w, b);
        for (let spins = 0; (state & 3) === WRITING && spins < MAX_SPINS; spins++) state = Atomics.load(w, b);
        if ((state & 3) === EMPTY) {
          if (free < 0) {
            free = slot;
            freeState = state;
          }
          break;
        }
        if ((state & 3) !== READY) continue;
        if (
          Atomics.load(w, b + 2) === family &&
          Atomics.load(w, b + 3) === w0 &&
          Atomics.load(w, b + 4) === w1 &&
          Atomics.load(w, b + 5) === w2 &&
          Atomics.load(w, b + 6) === w3 &&
          Atomics.load(w, b) === state
        ) {
          this.#state = state;
          return slot;
        }
        if (free < 0 && Atomics.load(w, b + 1) === 0) {
          free = slot;
          freeState = state;
        }
      }
      // Not there: the first slot on the way with no connection open is taken.
      if (free < 0) return -1;
      const b = this.#base + free * this.#slotWords;
      const generation = ((freeState >>> 2) + 1) & 0x3fffffff;
      if (Atomics.compareExchange(w, b, freeState, (generation << 2) | WRITING) !== freeState) continue;
      if (Atomics.load(w, b + 1) !== 0) {
        // A connection of the slot's client was counted meanwhile: it keeps the slot (its holder sees a new state and looks again).
        Atomics.store(w, b, (generation << 2) | READY);
        continue;
      }
      Atomics.store(w, b + 2, family);
      Atomics.store(w, b + 3, w0);
      Atomics.store(w, b + 4, w1);
      Atomics.store(w, b + 5, w2);
      Atomics.store(w, b + 6, w3);
      const ready = (generation << 2) | READY;
      Atomics.store(w, b, ready);
      this.#state = ready;
      return free;
    }
    return -1;
  }
}

/** One worker's view of the shared counts. */
export class SharedProcessWideCounts implements ProcessWideCounts {
  readonly roundRobinPosition: Uint32Array;
  readonly clientConnections: ClientConnectionCounts;
  readonly #words: Int32Array;
  readonly #workers: number;
  readonly #worker: number;

  /**
   * @param buffer from allocate(workers)
   * @param worker this worker's index, 0 … workers-1
   */
  constructor(buffer: SharedArrayBuffer, workers: number, worker: number) {
    if (buffer.byteLength !== SharedProcessWideCounts.bytes(workers) || worker < 0 || worker >= workers) {
      throw new Error(`shared process counts: ${buffer.byteLength} bytes do not hold ${workers} workers' counts (worker ${worker})`);
    }
    this.#words = new Int32Array(buffer);
    this.#workers = workers;
    this.#worker = worker;
    this.roundRobinPosition = new Uint32Array(buffer, 0, 1);
    this.clientConnections = new SharedClientCounts(this.#words, workers, worker);
  }

  static bytes(workers: number): number {
    return (clientBase(workers) + CLIENT_SLOTS * slotWords(workers)) * 4;
  }

  /** The memory for `workers` workers' counts, all zero. */
  static allocate(workers: number): SharedArrayBuffer {
    return new SharedArrayBuffer(SharedProcessWideCounts.bytes(workers));
  }

  listenerConnections(kind: ListenerKind, index: number): ListenerConnectionCount | undefined {
    if (index < 0 || index >= LISTENERS_PER_KIND) return undefined;
    const listener = KIND_OFFSET[kind] * LISTENERS_PER_KIND + index;
    return new SharedListenerCount(this.#words, HEADER_WORDS + listener * listenerWords(this.#workers), this.#worker);
  }

  /**
   * Control plane, once worker `worker` has exited: its connections closed
   * with it, so its shares come off every total (before a replacement
   * with the same index starts counting).
   */
  static releaseWorker(buffer: SharedArrayBuffer, workers: number, worker: number): void {
    const w = new Int32Array(buffer);
    for (let l = 0; l < LISTENERS; l++) {
      const b = HEADER_WORDS + l * listenerWords(workers);
      const mine = Atomics.exchange(w, b + 1 + worker, 0);
      if (mine !== 0) Atomics.sub(w, b, mine);
    }
    const base = clientBase(workers);
    const size = slotWords(workers);
    for (let slot = 0; slot < CLIENT_SLOTS; slot++) {
      const b = base + slot * size;
      const mine = Atomics.exchange(w, b + 7 + worker, 0);
      if (mine !== 0) Atomics.sub(w, b + 1, mine);
    }
  }

  /** A listener's open connections over every worker (tests, diagnostics). */
  static listenerTotal(buffer: SharedArrayBuffer, workers: number, kind: ListenerKind, index: number): number {
    return Atomics.load(new Int32Array(buffer), HEADER_WORDS + (KIND_OFFSET[kind] * LISTENERS_PER_KIND + index) * listenerWords(workers));
  }
}
