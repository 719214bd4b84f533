/**
 * What the scrape and its per-entry renderer thread (kernel-entries-thread.ts,
 * kernel-entries-worker.ts) say to each other. Plain data: structured clone,
 * the rendered text transferred as an ArrayBuffer (not copied).
 */
import type { FilterMapKind } from '@dnsdist-ts/bpf-filter';
import type { KindActionTotals } from './kernel-block-hits.js';

/** One BPF filter's maps: fds valid in every thread of the process, open for the whole job. */
export interface FilterMapFds {
  readonly external: boolean;
  readonly maps: ReadonlyArray<readonly [FilterMapKind, number]>;
}

/** Render `dnsdist_ts_kernel_block_hits_total` over these providers (each a list of filters, in walk order). */
export interface KernelEntriesJob {
  readonly id: number;
  readonly limit: number | undefined;
  readonly providers: ReadonlyArray<readonly FilterMapFds[]>;
  /** Bytes the previous scrape's family took: the writer's first buffer. */
  readonly sizeHint: number;
}

export type KernelEntriesReply =
  | {
      readonly id: number;
      readonly ok: true;
      /** The family's text, UTF-8, exactly `length` bytes. */
      readonly buffer: ArrayBuffer;
      readonly length: number;
      readonly totals: KindActionTotals[];
      /** Providers that failed (`kernel-counters-N`) and why; their entries are left out. */
      readonly errors: ReadonlyArray<readonly [string, string]>;
    }
  | { readonly id: number; readonly ok: false; readonly message: string };
