import type { ClientBlockRange } from './client-block-range.js';
import type { DynBlock } from './dyn-block.js';

/** Math.imul read once: a global lookup per call is slow in sandboxed contexts (jest's vm). */
const imul = Math.imul;

/**
 * The blocks of one prefix shape (IPv4 prefix + port bits, or IPv6
 * prefix), in a hash table keyed by a hash of the masked client address
 * and port. Keys stay below 2^30 so V8 keeps them as small integers: a
 * lookup boxes no number and so allocates nothing. A hit is confirmed
 * byte by byte; blocks whose key is already taken wait in `collisions`.
 */
interface Shape {
  readonly prefix: number;
  readonly portBits: number;
  readonly specificity: number;
  /** Address mask, byte by byte (4 or 16 bytes). */
  readonly mask: Uint8Array;
  readonly portMask: number;
  readonly map: Map<number, DynBlock>;
  /** Blocks whose key another block holds in `map` (hash collisions; rare). */
  readonly collisions: Map<number, DynBlock[]>;
}

function makeShape(family: 4 | 6, prefix: number, portBits: number): Shape {
  const mask = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = 0; i < mask.length; i++) mask[i] = (0xff << (8 - Math.min(8, Math.max(0, prefix - i * 8)))) & 0xff;
  return {
    prefix,
    portBits,
    specificity: prefix + portBits,
    mask,
    portMask: portBits === 0 ? 0 : (0xffff << (16 - portBits)) & 0xffff,
    map: new Map(),
    collisions: new Map(),
  };
}

/** FNV-1a over the masked address and port, folded to 30 bits (a V8 small integer). */
function keyOf(shape: Shape, a: Uint8Array, port: number): number {
  const m = shape.mask;
  let h = 0x811c9dc5;
  for (let i = 0; i < m.length; i++) h = imul(h ^ (a[i]! & m[i]!), 0x01000193);
  h = imul(h ^ (port & shape.portMask), 0x01000193);
  return (h ^ (h >>> 30)) & 0x3fffffff;
}

function covers(shape: Shape, a: Uint8Array, port: number, block: DynBlock): boolean {
  const range = block.range!;
  const m = shape.mask;
  const network = range.network;
  for (let i = 0; i < m.length; i++) if ((a[i]! & m[i]!) !== network[i]) return false;
  return (port & shape.portMask) === range.port;
}

function find(shape: Shape, a: Uint8Array, port: number): DynBlock | undefined {
  const key = keyOf(shape, a, port);
  const hit = shape.map.get(key);
  if (hit === undefined) return undefined;
  if (covers(shape, a, port, hit)) return hit;
  if (shape.collisions.size === 0) return undefined;
  const others = shape.collisions.get(key);
  if (others === undefined) return undefined;
  for (let i = 0; i < others.length; i++) if (covers(shape, a, port, others[i]!)) return others[i];
  return undefined;
}

/**
 * The client-address dynamic blocks: dnsdist's NetmaskTree<DynBlock,
 * AddressAndPortRange>. A lookup finds the most specific block covering a
 * client address and source port.
 *
 * Blocks are grouped by prefix shape (a /32 table, a /24 table, …), each a
 * hash table on the masked address and port; a lookup tries the shapes
 * from the most specific down. Rule groups use one or two shapes, so a lookup is a
 * couple of hash probes, and it allocates nothing.
 */
export class ClientBlockTable {
  /** Every block by its range text, in insertion order. */
  readonly #byText = new Map<string, DynBlock>();
  #v4: Shape[] = [];
  #v6: Shape[] = [];

  /** Blocks held, expired ones not yet purged included (dnsdist's dyn-block-nmg-size). */
  get size(): number {
    return this.#byText.size;
  }

  /**
   * The most specific block covering `address` (4 or 16 bytes) and
   * `port`, expired or not. Allocation-free: for the query path.
   */
  lookup(address: Uint8Array, port: number): DynBlock | undefined {
    const shapes = address.length === 4 ? this.#v4 : this.#v6;
    for (let s = 0; s < shapes.length; s++) {
      const hit = find(shapes[s]!, address, port);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }

  /**
   * The most specific block covering all of `range` (as specific as the
   * range or less): dnsdist's NetmaskTree lookup of a range, used when
   * inserting to find the block a new one refreshes.
   */
  lookupCovering(range: ClientBlockRange): DynBlock | undefined {
    for (const shape of range.family === 4 ? this.#v4 : this.#v6) {
      if (shape.prefix > range.prefix || shape.portBits > range.portBits) continue;
      const hit = find(shape, range.network, range.port);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }

  /** The block for exactly this range. */
  get(range: ClientBlockRange): DynBlock | undefined {
    return this.#byText.get(range.toString());
  }

  /** Insert `block` (a client block), replacing the one for the same range. */
  set(block: DynBlock): void {
    const range = block.range;
    if (!range) throw new TypeError(`ClientBlockTable.set: ${block.keyText()} is a suffix block; suffix blocks go to the SuffixBlockTable`);
    const text = range.toString();
    if (this.#byText.has(text)) this.#unlink(this.#byText.get(text)!);
    this.#byText.set(text, block);
    const shape = this.#shapeFor(range, true)!;
    const key = keyOf(shape, range.network, range.port);
    if (!shape.map.has(key)) shape.map.set(key, block);
    else shape.collisions.set(key, [...(shape.collisions.get(key) ?? []), block]);
  }

  /** Remove the block for this range; returns it, or undefined when there was none. */
  delete(range: ClientBlockRange): DynBlock | undefined {
    const text = range.toString();
    const block = this.#byText.get(text);
    if (!block) return undefined;
    this.#byText.delete(text);
    this.#unlink(block);
    return block;
  }

  /** Every block, in insertion order. */
  values(): IterableIterator<DynBlock> {
    return this.#byText.values();
  }

  clear(): void {
    this.#byText.clear();
    this.#v4 = [];
    this.#v6 = [];
  }

  #unlink(block: DynBlock): void {
    const range = block.range!;
    const shape = this.#shapeFor(range, false);
    if (!shape) return;
    const key = keyOf(shape, range.network, range.port);
    const others = shape.collisions.get(key) ?? [];
    if (shape.map.get(key) === block) {
      // A waiting block (if any) takes the freed slot.
      if (others.length > 0) shape.map.set(key, others.shift()!);
      else shape.map.delete(key);
    } else {
      others.splice(others.indexOf(block), 1);
    }
    if (others.length === 0) shape.collisions.delete(key);
    if (shape.map.size === 0) {
      if (range.family === 4) this.#v4 = this.#v4.filter((s) => s !== shape);
      else this.#v6 = this.#v6.filter((s) => s !== shape);
    }
  }

  #shapeFor(range: ClientBlockRange, create: boolean): Shape | undefined {
    const list = range.family === 4 ? this.#v4 : this.#v6;
    const found = list.find((s) => s.prefix === range.prefix && s.portBits === range.portBits);
    if (found || !create) return found;
    const shape = makeShape(range.family, range.prefix, range.portBits);
    // Most specific first: the first shape that holds the client wins, as a longest-prefix match.
    const next = [...list, shape].sort((a, b) => b.specificity - a.specificity);
    if (range.family === 4) this.#v4 = next;
    else this.#v6 = next;
    return shape;
  }
}
