/**
 * NetmaskGroup: a set of ranges, some negated, as dnsdist's NetmaskGroup.
 * The most specific (longest-prefix) range containing an address decides:
 * a plain range matches, a negated one ("!10.1.0.0/16") does not, so
 * holes can be cut into larger ranges.
 */
import { Netmask } from './netmask.js';

interface Entry {
  mask: Netmask;
  negated: boolean;
}

/** One node per prefix bit; `entry` is set where an added range ends. */
class TrieNode {
  zero: TrieNode | undefined;
  one: TrieNode | undefined;
  entry: Entry | undefined;
}

function bitAt(bytes: Uint8Array, i: number): number {
  return (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
}

export class NetmaskGroup {
  #v4 = new TrieNode();
  #v6 = new TrieNode();
  /** Keyed by the canonical mask text, in insertion order, for size and listing. */
  readonly #entries = new Map<string, Entry>();

  /**
   * Add a range: "192.0.2.0/24", "2001:db8::/32", a bare address, or any
   * of these after "!" to negate it. Adding a range already present
   * replaces its negation (keeping its place in `toStrings`), as in dnsdist.
   *
   * @throws AddressParseError on malformed text.
   */
  addMask(mask: string | Netmask, negated = false): this {
    let nm: Netmask;
    if (typeof mask === 'string') {
      const bang = mask.startsWith('!');
      nm = Netmask.fromString(bang ? mask.slice(1) : mask);
      negated = negated || bang;
    } else {
      nm = mask;
    }
    const entry: Entry = { mask: nm, negated };
    const key = nm.toString();
    this.#entries.set(key, entry);
    const network = nm.network();
    let node = nm.family === 4 ? this.#v4 : this.#v6;
    for (let i = 0; i < nm.bits; i++) {
      if (bitAt(network, i)) node = node.one ??= new TrieNode();
      else node = node.zero ??= new TrieNode();
    }
    node.entry = entry;
    return this;
  }

  /**
   * Remove a range ("!" ignored: the range goes whatever its negation).
   * Returns whether it was there.
   */
  deleteMask(mask: string | Netmask): boolean {
    const nm = typeof mask === 'string' ? Netmask.fromString(mask.startsWith('!') ? mask.slice(1) : mask) : mask;
    if (!this.#entries.delete(nm.toString())) return false;
    const network = nm.network();
    const path: TrieNode[] = [];
    let node: TrieNode | undefined = nm.family === 4 ? this.#v4 : this.#v6;
    for (let i = 0; i < nm.bits && node; i++) {
      path.push(node);
      node = bitAt(network, i) ? node.one : node.zero;
    }
    if (!node) return true;
    node.entry = undefined;
    // Prune the branch that now leads nowhere, so matches do not walk dead nodes.
    for (let i = path.length - 1; i >= 0; i--) {
      if (node.entry || node.zero || node.one) break;
      const parent = path[i]!;
      if (bitAt(network, i)) parent.one = undefined;
      else parent.zero = undefined;
      node = parent;
    }
    return true;
  }

  /**
   * Whether the most specific range containing this network-order address
   * (4 or 16 bytes) is a plain one. Allocation-free, for per-packet use.
   */
  match(address: Uint8Array): boolean {
    let node: TrieNode | undefined;
    let bits: number;
    if (address.length === 4) {
      node = this.#v4;
      bits = 32;
    } else if (address.length === 16) {
      node = this.#v6;
      bits = 128;
    } else {
      return false;
    }
    let best = node.entry;
    for (let i = 0; i < bits; i++) {
      node = bitAt(address, i) ? node.one : node.zero;
      if (!node) break;
      if (node.entry) best = node.entry;
    }
    return best !== undefined && !best.negated;
  }

  /** Number of ranges, negated ones included. */
  size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#v4 = new TrieNode();
    this.#v6 = new TrieNode();
    this.#entries.clear();
  }

  /** The ranges in insertion order, negated ones with a leading "!": ["10.0.0.0/8", "!10.1.0.0/16"]. */
  toStrings(): string[] {
    return [...this.#entries.values()].map((e) => (e.negated ? `!${e.mask.toString()}` : e.mask.toString()));
  }

  /** dnsdist's NetmaskGroup:toString(), the ranges joined with ", ". */
  toString(): string {
    return this.toStrings().join(', ');
  }
}
