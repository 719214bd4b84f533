import type { FilterMapKind } from './map-format.js';

/**
 * One BPFFilter's maps as fd numbers, for another thread of the process
 * to use the same kernel maps (fds are process-wide): a data-plane worker
 * running the configuration's `newBPFFilter{…}` takes the control plane's
 * filter this way instead of creating maps of its own that nothing reads.
 * Plain data, so it crosses postMessage as it is.
 */
export interface FilterMapHandles {
  readonly external: boolean;
  /** Per map: its kind, the filter map's fd and its expiry map's fd. */
  readonly maps: ReadonlyArray<readonly [kind: FilterMapKind, data: number, expiry: number]>;
}
