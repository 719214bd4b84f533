/**
 * `dnsdist_ts_kernel_block_hits_total`, one sample per kernel block entry:
 * with 100,000 blocks it is nearly all of a scrape (8 MB). It is written by
 * the hand-written PrometheusTextWriter rather than prom-client's registry
 * (which builds a label object per sample and formats each line through
 * generic code, several times slower; see docs/benchmarks.md), walking the
 * maps in steps that give the event loop back every few milliseconds.
 *
 * The walk also yields the totals per kind and action that the registry's
 * small kernel families report.
 */
import type { EventLoopSlicer } from './event-loop-slicer.js';
import type { BlockKind, KernelCounterProvider, KernelCounterVisitor } from './observability-providers.js';
import type { PrometheusTextWriter } from './prometheus-text-writer.js';

export const KERNEL_BLOCK_HITS = 'dnsdist_ts_kernel_block_hits_total';

/** Entries and hits of one kind and action, over every entry (also those a limit leaves out). */
export interface KindActionTotals {
  readonly kind: BlockKind;
  readonly action: string;
  entries: number;
  hits: number;
}

export interface KernelBlockHitsOptions {
  /** At most this many samples, those with the most hits (ties: the first listed); undefined: every entry. */
  readonly limit?: number | undefined;
  /** A provider failed (its entries are left out; the scrape goes on). */
  readonly onError: (provider: string, err: unknown) => void;
  /** Each provider's name in errors; default `kernel-counters-N`, N its index. */
  readonly names?: readonly string[];
}

/** One entry kept for merging or for the top-`limit` selection. */
interface Entry {
  kind: BlockKind;
  key: string;
  action: string;
  qtype: number | undefined;
  hits: number | bigint;
  /** Order of appearance, so ties keep the walk's order. */
  seq: number;
}

/** Write the family (its samples, all or the top `limit`) and return the totals per kind and action, sorted. */
export async function writeKernelBlockHits(
  w: PrometheusTextWriter,
  providers: readonly KernelCounterProvider[],
  slicer: EventLoopSlicer,
  options: KernelBlockHitsOptions,
): Promise<KindActionTotals[]> {
  w.family(
    KERNEL_BLOCK_HITS,
    'counter',
    'Packets matched by each kernel block entry (address, range, name or suffix), read from the pinned maps',
  );
  const plain = w.series(KERNEL_BLOCK_HITS, ['kind', 'key', 'action']);
  const named = w.series(KERNEL_BLOCK_HITS, ['kind', 'key', 'action', 'qtype']);
  const write = (kind: BlockKind, key: string, action: string, hits: number | bigint, qtype: number | undefined): void => {
    if (qtype === undefined) plain.add(hits, kind, key, action);
    else named.add(hits, kind, key, action, String(qtype));
  };
  // kind → action → totals: a handful of keys, found without building a string per entry.
  const totals = new Map<string, Map<string, KindActionTotals>>();
  const count = (kind: BlockKind, action: string, hits: number | bigint): void => {
    let byAction = totals.get(kind);
    if (!byAction) totals.set(kind, (byAction = new Map()));
    let t = byAction.get(action);
    if (!t) byAction.set(action, (t = { kind, action, entries: 0, hits: 0 }));
    t.entries++;
    t.hits += typeof hits === 'number' ? hits : Number(hits);
  };
  const top = options.limit === undefined ? undefined : new TopEntries(options.limit);
  const nameOf = (i: number): string => options.names?.[i] ?? `kernel-counters-${i}`;
  let seq = 0;
  const take: KernelCounterVisitor = (kind, key, action, hits, qtype) => {
    count(kind, action, hits);
    if (top) top.offer({ kind, key, action, hits, qtype, seq: seq++ });
    else write(kind, key, action, hits, qtype);
  };

  if (providers.length === 1) {
    // The common case: one source, whose entries are unique; written as they are read.
    await walk(providers[0]!, nameOf(0), take, slicer, options.onError);
  } else if (providers.length > 1) {
    // Two sources may hold the same entry (a filter registered twice): one sample per label set.
    const merged = new Map<string, Entry>();
    for (const [i, p] of providers.entries()) {
      await walk(
        p,
        nameOf(i),
        (kind, key, action, hits, qtype) => {
          const id = `${kind}\u0000${key}\u0000${action}\u0000${qtype ?? ''}`;
          const prev = merged.get(id);
          if (prev) prev.hits = BigInt(prev.hits) + BigInt(hits);
          else merged.set(id, { kind, key, action, qtype, hits, seq: merged.size });
        },
        slicer,
        options.onError,
      );
    }
    let n = 0;
    for (const m of merged.values()) {
      take(m.kind, m.key, m.action, m.hits, m.qtype);
      if (++n % 512 === 0) await slicer.checkpoint();
    }
  }
  if (top) {
    let n = 0;
    for (const e of top.sorted()) {
      write(e.kind, e.key, e.action, e.hits, e.qtype);
      if (++n % 512 === 0) await slicer.checkpoint();
    }
  }
  const list = [...totals.values()].flatMap((m) => [...m.values()]);
  return list.sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.action < b.action ? -1 : a.action > b.action ? 1 : 0));
}

/** Walk one provider in steps when it can, in one go otherwise. */
async function walk(
  p: KernelCounterProvider,
  name: string,
  visit: KernelCounterVisitor,
  slicer: EventLoopSlicer,
  onError: (provider: string, err: unknown) => void,
): Promise<void> {
  try {
    if (!p.walkKernelCounters) return p.visitKernelCounters(visit);
    const steps = p.walkKernelCounters(visit);
    while (!steps.next().done) await slicer.checkpoint();
  } catch (err) {
    onError(name, err);
  }
}

/** The `limit` entries with the most hits: a min-heap whose root is the entry to drop first. */
class TopEntries {
  readonly #limit: number;
  readonly #heap: Entry[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Does `a` rank below `b` (fewer hits, or as many and listed later)? */
  static #below(a: Entry, b: Entry): boolean {
    const ah = Number(a.hits);
    const bh = Number(b.hits);
    return ah < bh || (ah === bh && a.seq > b.seq);
  }

  offer(e: Entry): void {
    const h = this.#heap;
    if (this.#limit === 0) return;
    if (h.length < this.#limit) {
      h.push(e);
      let i = h.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!TopEntries.#below(h[i]!, h[parent]!)) break;
        [h[i], h[parent]] = [h[parent]!, h[i]!];
        i = parent;
      }
      return;
    }
    if (!TopEntries.#below(h[0]!, e)) return;
    h[0] = e;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let least = i;
      if (l < h.length && TopEntries.#below(h[l]!, h[least]!)) least = l;
      if (r < h.length && TopEntries.#below(h[r]!, h[least]!)) least = r;
      if (least === i) break;
      [h[i], h[least]] = [h[least]!, h[i]!];
      i = least;
    }
  }

  /** Most hits first. */
  sorted(): Entry[] {
    return [...this.#heap].sort((a, b) => (TopEntries.#below(a, b) ? 1 : TopEntries.#below(b, a) ? -1 : 0));
  }
}
