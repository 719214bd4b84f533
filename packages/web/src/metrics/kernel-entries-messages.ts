/**
 * What the scrape and its renderer thread (kernel-entries-thread.ts,
 * kernel-entries-worker.ts) say to each other. A scrape takes two steps:
 * `render` (the thread reads the maps and writes the per-entry family,
 * keeping the bytes; the scrape gets the totals its small families need),
 * then `finish` (the thread puts the scrape's other families before them,
 * gzips when asked, and writes the body into a shared buffer that the event
 * loop reuses from one scrape to the next, so a scrape allocates no
 * megabytes there). `drop` forgets a rendered family that will not be finished.
 */
import type { FilterMapKind } from '@dnsdist-ts/bpf-filter';
import type { KindActionTotals } from './kernel-block-hits.js';

/** One BPF filter's maps: fds valid in every thread of the process, open until the render step answers. */
export interface FilterMapFds {
  readonly external: boolean;
  readonly maps: ReadonlyArray<readonly [FilterMapKind, number]>;
}

export type ToRenderer =
  | {
      readonly type: 'render';
      readonly id: number;
      readonly limit: number | undefined;
      /** Each provider's filters, in walk order. */
      readonly providers: ReadonlyArray<readonly FilterMapFds[]>;
      /** Bytes the previous scrape's family took: the writer's first buffer. */
      readonly sizeHint: number;
    }
  | {
      readonly type: 'finish';
      readonly id: number;
      /** The families that come before the per-entry one. */
      readonly head: string;
      readonly gzip: boolean;
      /** Where to write the body (large enough for it, gzip's worst case included). */
      readonly target: SharedArrayBuffer;
    }
  | { readonly type: 'drop'; readonly id: number };

export type FromRenderer =
  | {
      readonly type: 'rendered';
      readonly id: number;
      /** Bytes of the per-entry family. */
      readonly length: number;
      readonly totals: KindActionTotals[];
      /** Providers that failed (`kernel-counters-N`) and why; their entries are left out. */
      readonly errors: ReadonlyArray<readonly [string, string]>;
    }
  | { readonly type: 'finished'; readonly id: number; readonly length: number }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };
