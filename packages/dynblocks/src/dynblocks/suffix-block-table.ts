import type { DNSName } from '@dnsdist-ts/dns';
import type { DynBlock } from './dyn-block.js';

/** Math.imul read once: a global lookup per call is slow in sandboxed contexts (jest's vm). */
const imul = Math.imul;

/** FNV-1a over wire bytes [start, end), folded to 30 bits so V8 keeps the key a small integer (no boxing). */
function wireHash(wire: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = imul(h ^ wire[i]!, 0x01000193);
  return (h ^ (h >>> 30)) & 0x3fffffff;
}

function sameBytes(a: Uint8Array, aStart: number, b: Uint8Array, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aStart + i] !== b[i]) return false;
  return true;
}

interface Slot {
  readonly block: DynBlock;
  /** The suffix in lower-cased wire form. */
  readonly wire: Uint8Array;
}

/**
 * The name-suffix dynamic blocks: dnsdist's SuffixMatchTree<DynBlock>. A
 * lookup finds the most specific block whose name is the query name or
 * one of its parents.
 *
 * Kept as a hash table on the lower-cased wire form of each blocked name.
 * A lookup hashes the query name's suffixes from the longest down, but
 * only those whose length some block has, and allocates nothing: it reads
 * the lower-cased wire name the query view already holds.
 */
export class SuffixBlockTable {
  readonly #byText = new Map<string, Slot>();
  readonly #byHash = new Map<number, Slot>();
  /** Slots whose hash another slot holds in `#byHash` (collisions; rare). */
  readonly #collisions = new Map<number, Slot[]>();
  /** How many blocked names have each wire length (1 to 255). */
  readonly #lengths = new Uint32Array(256);

  /** Blocks held, expired ones not yet purged included. */
  get size(): number {
    return this.#byText.size;
  }

  /**
   * The most specific block for a query name given in lower-cased wire
   * form (`wire[0..length)`, root byte included), expired or not.
   */
  lookupWire(wire: Uint8Array, length: number): DynBlock | undefined {
    const lengths = this.#lengths;
    for (let p = 0; p < length; p += wire[p]! + 1) {
      const rest = length - p;
      if (lengths[rest] !== 0) {
        const h = wireHash(wire, p, length);
        const hit = this.#byHash.get(h);
        if (hit !== undefined) {
          if (hit.wire.length === rest && sameBytes(wire, p, hit.wire, rest)) return hit.block;
          if (this.#collisions.size !== 0) {
            const others = this.#collisions.get(h);
            if (others !== undefined) {
              for (let i = 0; i < others.length; i++) {
                const s = others[i]!;
                if (s.wire.length === rest && sameBytes(wire, p, s.wire, rest)) return s.block;
              }
            }
          }
        }
      }
      if (wire[p] === 0) break;
    }
    return undefined;
  }

  /** The most specific block for `name` (any case). */
  lookup(name: DNSName): DynBlock | undefined {
    const wire = name.toWireLowerCase();
    return this.lookupWire(wire, wire.length);
  }

  /** The block for exactly this name (any case). */
  get(name: DNSName): DynBlock | undefined {
    return this.#byText.get(name.toLowerCase().toString())?.block;
  }

  /** Insert `block` (a suffix block), replacing the one for the same name. */
  set(block: DynBlock): void {
    const name = block.domain;
    if (!name) throw new TypeError(`SuffixBlockTable.set: ${block.keyText()} is a client block; client blocks go to the ClientBlockTable`);
    const text = name.toLowerCase().toString();
    const old = this.#byText.get(text);
    if (old) this.#unlink(old);
    const slot: Slot = { block, wire: name.toWireLowerCase() };
    this.#byText.set(text, slot);
    this.#lengths[slot.wire.length]!++;
    const h = wireHash(slot.wire, 0, slot.wire.length);
    if (!this.#byHash.has(h)) this.#byHash.set(h, slot);
    else this.#collisions.set(h, [...(this.#collisions.get(h) ?? []), slot]);
  }

  /** Remove the block for this name; returns it, or undefined when there was none. */
  delete(name: DNSName): DynBlock | undefined {
    const text = name.toLowerCase().toString();
    const slot = this.#byText.get(text);
    if (!slot) return undefined;
    this.#byText.delete(text);
    this.#unlink(slot);
    return slot.block;
  }

  /** Every block, in insertion order. */
  *values(): IterableIterator<DynBlock> {
    for (const slot of this.#byText.values()) yield slot.block;
  }

  clear(): void {
    this.#byText.clear();
    this.#byHash.clear();
    this.#collisions.clear();
    this.#lengths.fill(0);
  }

  #unlink(slot: Slot): void {
    this.#lengths[slot.wire.length]!--;
    const h = wireHash(slot.wire, 0, slot.wire.length);
    const others = this.#collisions.get(h) ?? [];
    if (this.#byHash.get(h) === slot) {
      if (others.length > 0) this.#byHash.set(h, others.shift()!);
      else this.#byHash.delete(h);
    } else {
      others.splice(others.indexOf(slot), 1);
    }
    if (others.length === 0) this.#collisions.delete(h);
  }
}
