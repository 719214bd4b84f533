import { inBatchDispatch } from '../io/batch-dispatch-scope.js';

/**
 * performance.now() costs ~100 ns in Node 20 and the query path needs the
 * time several times per query. Datagrams arrive in batches handled in one
 * synchronous run, so one reading per batch is precise enough: inside a
 * native batch the value is cached until the batch ends (the dispatch
 * scope clears it); elsewhere (timers, TCP) it is read afresh each time.
 */
let cached = -1;

/** Forget the cached reading (the next batch starts). */
export function resetCoarseClock(): void {
  cached = -1;
}

/** Milliseconds on the performance.now() clock, read at most once per native receive batch. */
export function coarseNow(): number {
  if (!inBatchDispatch()) return performance.now();
  if (cached < 0) cached = performance.now();
  return cached;
}
