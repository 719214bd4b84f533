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

/**
 * Up to this many IPv4 ranges are matched by a scan over flat arrays, most
 * specific first (an ACL's usual size: dnsdist's defaults are six IPv4
 * ranges), where a walk of the trie follows one node per prefix bit.
 */
const V4_SCAN_LIMIT = 32;

/** The IPv4 ranges as the scan reads them, most specific first; rebuilt after a change. */
class V4Scan {
  readonly networks: Int32Array;
  readonly masks: Int32Array;
  readonly negated: Uint8Array;

  /** `v4`: the group's IPv4 ranges, in any order. */
  constructor(v4: Entry[]) {
    const sorted = [...v4].sort((a, b) => b.mask.bits - a.mask.bits);
    this.networks = new Int32Array(sorted.length);
    this.masks = new Int32Array(sorted.length);
    this.negated = new Uint8Array(sorted.length);
    sorted.forEach((e, i) => {
      const n = e.mask.network();
      this.networks[i] = (n[0]! << 24) | (n[1]! << 16) | (n[2]! << 8) | n[3]!;
      this.masks[i] = e.mask.bits === 0 ? 0 : -1 << (32 - e.mask.bits);
      this.negated[i] = e.negated ? 1 : 0;
    });
  }
}

export class NetmaskGroup {
  #v4 = new TrieNode();
  #v6 = new TrieNode();
  /** Keyed by the canonical mask text, in insertion order, for size and listing. */
  readonly #entries = new Map<string, Entry>();
  /** The IPv4 scan: undefined after a change (made again on the next match), null with too many ranges for it. */
  #v4Scan: V4Scan | null | undefined;

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
    this.#v4Scan = undefined;
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
    this.#v4Scan = undefined;
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
      const scan = this.#v4Scan === undefined ? this.#makeV4Scan() : this.#v4Scan;
      if (scan !== null) return matchV4Scan(scan, (address[0]! << 24) | (address[1]! << 16) | (address[2]! << 8) | address[3]!);
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

  #makeV4Scan(): V4Scan | null {
    const v4 = [...this.#entries.values()].filter((e) => e.mask.family === 4);
    this.#v4Scan = v4.length <= V4_SCAN_LIMIT ? new V4Scan(v4) : null;
    return this.#v4Scan;
  }

  /** Number of ranges, negated ones included. */
  size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#v4Scan = undefined;
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

/** The first (most specific) range holding `address` decides, as the trie's deepest entry does. */
function matchV4Scan(scan: V4Scan, address: number): boolean {
  const { networks, masks, negated } = scan;
  for (let i = 0; i < networks.length; i++) {
    if (((address ^ networks[i]!) & masks[i]!) === 0) return negated[i] === 0;
  }
  return false;
}
