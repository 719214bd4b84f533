/**
 * dnsdist's StatNode: a tree of names built from the response ring, one
 * node per label, for the suffix-match rule of a rules group. Each node
 * counts the answers for exactly its name ("self") and, once visited, for
 * its whole subtree ("children", itself included).
 */

/** dnsdist's StatNode::Stat, as the suffix-match visitor sees it. */
export interface StatNodeStats {
  queries: number;
  noerrors: number;
  nxdomains: number;
  servfails: number;
  /** Queries the backend never answered (timeouts). */
  drops: number;
  bytes: number;
  /** Answers served from the cache (always 0 with 1.7.3's rings, which only keep backend answers). */
  hits: number;
}

function emptyStats(): StatNodeStats {
  return { queries: 0, noerrors: 0, nxdomains: 0, servfails: 0, drops: 0, bytes: 0, hits: 0 };
}

function addStats(to: StatNodeStats, from: StatNodeStats): void {
  to.queries += from.queries;
  to.noerrors += from.noerrors;
  to.nxdomains += from.nxdomains;
  to.servfails += from.servfails;
  to.drops += from.drops;
  to.bytes += from.bytes;
  to.hits += from.hits;
}

/** dnsdist's CIStringCompare on labels: byte order after ASCII lower-casing. */
function compareLabels(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Split a name in presentation form ("www.example.com.", escapes allowed)
 * into its labels, leftmost first, each still escaped, so joining them
 * with dots gives back valid presentation text.
 */
export function splitPresentationLabels(text: string): string[] {
  if (text === '.' || text === '') return [];
  if (!text.includes('\\')) {
    const labels = text.split('.');
    if (labels[labels.length - 1] === '') labels.pop();
    return labels;
  }
  const labels: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      i += /\d/.test(text[i + 1] ?? '') ? 3 : 1;
    } else if (c === '.') {
      labels.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (start < text.length) labels.push(text.slice(start));
  return labels;
}

export class StatNode {
  /** This node's label ("www"); "" for the root. */
  readonly name: string;
  /** The whole name with a trailing dot ("www.example.com."); "" for the root, as in dnsdist. */
  readonly fullname: string;
  /** Number of labels of `fullname`; 0 for the root. */
  readonly labelsCount: number;
  /** Answers for exactly this name. */
  readonly self: StatNodeStats = emptyStats();
  readonly #children = new Map<string, StatNode>();

  constructor(name = '', fullname = '', labelsCount = 0) {
    this.name = name;
    this.fullname = fullname;
    this.labelsCount = labelsCount;
  }

  get numChildren(): number {
    return this.#children.size;
  }

  get empty(): boolean {
    return this.#children.size === 0;
  }

  /**
   * Count one answer for a name given as labels (leftmost first, as
   * {@link splitPresentationLabels} gives them). `rcode` -1 means the
   * backend never answered (a drop).
   */
  submit(labels: readonly string[], rcode: number, bytes: number, hit: boolean): void {
    if (labels.length === 0) return;
    let node: StatNode | undefined;
    for (let i = labels.length - 1; i >= 0; i--) {
      const parent: StatNode = node ?? this;
      const label = labels[i]!;
      const key = label.toLowerCase();
      node = parent.#children.get(key);
      if (!node) {
        node = new StatNode(label, `${label}.${parent.fullname}`, parent.labelsCount + 1);
        parent.#children.set(key, node);
      }
    }
    const s = node!.self;
    s.queries++;
    if (rcode < 0) s.drops++;
    else if (rcode === 0) s.noerrors++;
    else if (rcode === 2) s.servfails++;
    else if (rcode === 3) s.nxdomains++;
    s.bytes += bytes;
    if (hit) s.hits++;
  }

  /**
   * Visit every node, children before their parent and siblings in label
   * order (dnsdist's StatNode::visit), the root last. The visitor gets
   * the node, its own counts and its subtree's. Returns the subtree's.
   */
  visit(visitor: (node: StatNode, self: StatNodeStats, children: StatNodeStats) => void): StatNodeStats {
    const total = emptyStats();
    addStats(total, this.self);
    const keys = [...this.#children.keys()].sort(compareLabels);
    for (const k of keys) addStats(total, this.#children.get(k)!.visit(visitor));
    visitor(this, { ...this.self }, total);
    return total;
  }
}
