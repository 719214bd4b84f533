/**
 * A set of domains checked against lower-cased presentation-form names
 * ("www.example.com.") without allocating: the packet view hands the qname
 * over as such a string, and building a DNSName per query just to ask
 * SuffixMatchNode would cost more than the whole rule walk.
 *
 * Each domain is indexed by a hash of its text computed from the right, so
 * a query name is scanned once from its end, looking the running hash up at
 * every label start; a hit is confirmed with a real comparison.
 */
import { DNSName } from '@dnsdist-ts/dns';

const BACKSLASH = 0x5c;
const DOT = 0x2e;

/** Running hash step; the same function builds the index and scans names. */
function step(hash: number, code: number): number {
  return (Math.imul(hash, 31) + code) | 0;
}

function hashFromRight(text: string): number {
  let hash = 0;
  for (let i = text.length - 1; i >= 0; i--) hash = step(hash, text.charCodeAt(i));
  return hash;
}

/**
 * Whether position `i` of a presentation-form name starts a label: it is
 * the first character or follows a dot that is not escaped ("a\.b" is one
 * label, "a\\.b" two, since the backslash there escapes a backslash).
 */
function startsLabel(name: string, i: number): boolean {
  if (i === 0) return true;
  if (name.charCodeAt(i - 1) !== DOT) return false;
  let backslashes = 0;
  for (let j = i - 2; j >= 0 && name.charCodeAt(j) === BACKSLASH; j--) backslashes++;
  return (backslashes & 1) === 0;
}

export class SuffixSet {
  /** Hash of each domain's lower-cased text → the domains with that hash. */
  readonly #byHash = new Map<number, string[]>();
  /** The root was added: every name matches. */
  #matchesAll = false;
  #size = 0;

  /** A set of `names` (DNSName or presentation text, any case). */
  constructor(names: Iterable<DNSName | string> = []) {
    for (const name of names) this.add(name);
  }

  /** @throws DnsNameError when a string is not a valid name. */
  add(name: DNSName | string): void {
    const dn = typeof name === 'string' ? DNSName.fromString(name) : name;
    if (dn.isRoot()) {
      if (!this.#matchesAll) this.#size++;
      this.#matchesAll = true;
      return;
    }
    // Same escaping as the packet view's qname, so equal names give equal text.
    const text = dn.toLowerCase().toString();
    const hash = hashFromRight(text);
    const bucket = this.#byHash.get(hash);
    if (bucket === undefined) {
      this.#byHash.set(hash, [text]);
    } else if (!bucket.includes(text)) {
      bucket.push(text);
    } else {
      return;
    }
    this.#size++;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Whether `qname` (lower-cased presentation form with its trailing dot, as
   * DnsQueryView.qname gives it) equals or is below one of the domains.
   */
  matches(qname: string): boolean {
    if (this.#matchesAll) return true;
    if (this.#byHash.size === 0) return false;
    const end = qname.length;
    let hash = 0;
    for (let i = end - 1; i >= 0; i--) {
      hash = step(hash, qname.charCodeAt(i));
      if (!startsLabel(qname, i)) continue;
      const bucket = this.#byHash.get(hash);
      if (bucket === undefined) continue;
      for (let k = 0; k < bucket.length; k++) {
        const candidate = bucket[k]!;
        if (candidate.length === end - i && qname.endsWith(candidate)) return true;
      }
    }
    return false;
  }
}
