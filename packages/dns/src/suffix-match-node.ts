/**
 * SuffixMatchNode: a set of domains, matching any name equal to or below
 * one of them, as dnsdist's SuffixMatchNode. Held as a tree of labels from
 * the root down, keyed by ASCII-lower-cased label so matching ignores case.
 */
import { DNSName } from './dns-name.js';

class LabelNode {
  readonly children = new Map<string, LabelNode>();
  /** The name as added (original case) if one ends at this node. */
  name: DNSName | undefined;
}

/** Lower-cased labels, rightmost (closest to the root) first, one character per byte. */
function reversedLowerLabels(name: DNSName): string[] {
  const wire = name.toWireLowerCase();
  const labels: string[] = [];
  for (let p = 0; wire[p] !== 0; p += wire[p]! + 1) labels.push(wire.toString('latin1', p + 1, p + 1 + wire[p]!));
  return labels.reverse();
}

function toName(name: DNSName | string): DNSName {
  return typeof name === 'string' ? DNSName.fromString(name) : name;
}

export class SuffixMatchNode {
  readonly #root = new LabelNode();
  /** Keyed by lower-cased text, in insertion order, for size and listing. */
  readonly #names = new Map<string, DNSName>();

  /** A node holding all of `names`. */
  static from(names: Iterable<DNSName | string>): SuffixMatchNode {
    const node = new SuffixMatchNode();
    for (const name of names) node.add(name);
    return node;
  }

  /**
   * Add a domain; names equal to or below it will match. Adding "." makes
   * everything match. Adding a name already present (in any case) keeps
   * the first spelling.
   *
   * @throws DnsNameError if a string is not a valid name.
   */
  add(name: DNSName | string): this {
    const dn = toName(name);
    let node = this.#root;
    for (const label of reversedLowerLabels(dn)) {
      let child = node.children.get(label);
      if (!child) {
        child = new LabelNode();
        node.children.set(label, child);
      }
      node = child;
    }
    if (!node.name) {
      node.name = dn;
      this.#names.set(dn.toLowerCase().toString(), dn);
    }
    return this;
  }

  /** Remove a domain added before (any case); names below it stay if added themselves. Returns whether it was there. */
  remove(name: DNSName | string): boolean {
    const dn = toName(name);
    const labels = reversedLowerLabels(dn);
    const path: LabelNode[] = [this.#root];
    let node = this.#root;
    for (const label of labels) {
      const child = node.children.get(label);
      if (!child) return false;
      path.push(child);
      node = child;
    }
    if (!node.name) return false;
    node.name = undefined;
    this.#names.delete(dn.toLowerCase().toString());
    // Drop nodes that no longer lead to any name.
    for (let i = labels.length; i > 0; i--) {
      const n = path[i]!;
      if (n.name || n.children.size > 0) break;
      path[i - 1]!.children.delete(labels[i - 1]!);
    }
    return true;
  }

  /** Whether `name` equals or is below any added domain, ignoring ASCII case. */
  check(name: DNSName): boolean {
    return this.bestMatch(name) !== undefined;
  }

  /** The most specific added domain that `name` equals or is below, as it was added; undefined if none. */
  bestMatch(name: DNSName): DNSName | undefined {
    let node = this.#root;
    let best = node.name;
    for (const label of reversedLowerLabels(name)) {
      const child = node.children.get(label);
      if (!child) break;
      node = child;
      if (node.name) best = node.name;
    }
    return best;
  }

  /** Number of domains added (and not removed). */
  size(): number {
    return this.#names.size;
  }

  clear(): void {
    this.#root.children.clear();
    this.#root.name = undefined;
    this.#names.clear();
  }

  /** The domains in insertion order, with trailing dots: ["example.com.", "evil."]. */
  toStrings(): string[] {
    return [...this.#names.values()].map((n) => n.toString());
  }

  /** dnsdist's SuffixMatchNode:toString(), the domains joined with ", ". */
  toString(): string {
    return this.toStrings().join(', ');
  }
}
