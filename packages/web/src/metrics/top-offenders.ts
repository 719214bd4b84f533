/**
 * dnsdist's "top offenders" of dynamic blocks: for each block reason, the
 * 20 blocked netmasks (and suffixes) with the most hits per second over the
 * last minute, exposed as
 * `dnsdist_dynblocks_nmg_top_offenders_hits_per_second{reason,netmask}` and
 * `dnsdist_dynblocks_smt_top_offenders_hits_per_second{reason,suffix}`.
 *
 * Like dnsdist, the hit counts of the active blocks (userspace plus kernel
 * hits for kernel-backed ones) are sampled every 10 seconds; a rate is the
 * growth of a block's count between the oldest and newest sample of the
 * last 60 seconds, divided by the time between them. dnsdist republishes
 * the result once a minute; here it is recomputed at every sample.
 */
import type { DynBlockView } from './observability-providers.js';

/** Offenders per reason: [key, hits per second], highest first. */
export type OffendersByReason = ReadonlyMap<string, ReadonlyArray<readonly [string, number]>>;

export interface TopOffenders {
  readonly netmasks: OffendersByReason;
  readonly suffixes: OffendersByReason;
}

/** reason → key → hits. */
type CountsByReason = Map<string, Map<string, number>>;

interface Sample {
  /** ms, monotonic. */
  at: number;
  netmasks: CountsByReason;
  suffixes: CountsByReason;
}

const TOP = 20;

export class TopOffendersTracker {
  /** Sampling period, ms. */
  static readonly SAMPLE_INTERVAL_MS = 10_000;
  /** The averaging window, ms. */
  static readonly WINDOW_MS = 60_000;
  readonly #samples: Sample[] = [];
  #current: TopOffenders = { netmasks: new Map(), suffixes: new Map() };

  /** Take a sample of the active blocks at `now` (ms) and recompute the top lists. */
  sample(blocks: readonly DynBlockView[], now: number = performance.now()): void {
    const sample: Sample = { at: now, netmasks: new Map(), suffixes: new Map() };
    for (const b of blocks) {
      const byReason = b.kind === 'netmask' ? sample.netmasks : sample.suffixes;
      let keys = byReason.get(b.reason);
      if (!keys) byReason.set(b.reason, (keys = new Map()));
      keys.set(b.key, b.blocks + b.kernelHits);
    }
    this.#samples.push(sample);
    // The window starts at the oldest sample at most a minute old (half a period of slack for timer jitter).
    const horizon = TopOffendersTracker.WINDOW_MS + TopOffendersTracker.SAMPLE_INTERVAL_MS / 2;
    while (this.#samples.length > 1 && now - this.#samples[0]!.at > horizon) this.#samples.shift();
    this.#current = this.#compute();
  }

  /** The lists as of the last sample. */
  current(): TopOffenders {
    return this.#current;
  }

  #compute(): TopOffenders {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || first === last) return { netmasks: new Map(), suffixes: new Map() };
    const seconds = (last.at - first.at) / 1000;
    return { netmasks: rates(first.netmasks, last.netmasks, seconds), suffixes: rates(first.suffixes, last.suffixes, seconds) };
  }
}

/** Per reason, the TOP fastest-growing keys between two samples. */
function rates(before: CountsByReason, after: CountsByReason, seconds: number): Map<string, Array<[string, number]>> {
  const out = new Map<string, Array<[string, number]>>();
  for (const [reason, keys] of after) {
    const old = before.get(reason);
    const list: Array<[string, number]> = [];
    for (const [key, count] of keys) {
      // A block that appeared inside the window grew from zero; one re-created with a lower count did not grow.
      const prev = old?.get(key) ?? 0;
      if (count > prev) list.push([key, (count - prev) / seconds]);
    }
    if (list.length === 0) continue;
    list.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    out.set(reason, list.slice(0, TOP));
  }
  return out;
}
