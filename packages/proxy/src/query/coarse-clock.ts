/**
 * performance.now() costs ~100 ns in Node 20 and the query path needs the
 * time several times per query. Datagrams arrive in batches that are
 * handled in one synchronous run, so one reading per run is precise
 * enough: the value is cached until the current run of JavaScript ends
 * (a microtask clears it).
 */
let cached = -1;
const invalidate = (): void => {
  cached = -1;
};

/** Milliseconds on the performance.now() clock, read at most once per synchronous run. */
export function coarseNow(): number {
  if (cached < 0) {
    cached = performance.now();
    queueMicrotask(invalidate);
  }
  return cached;
}
