/**
 * Counting garbage collections during a synchronous piece of code, to
 * check that a hot path allocates nothing.
 */
import { PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';

/**
 * Run `fn` and return how many garbage collections started while it ran.
 * GC entries reach observers asynchronously, so afterwards this makes
 * garbage until a collection that started after `fn` is reported: entries
 * arrive in order, so by then every collection during `fn` has been too.
 */
export async function collectionsDuring(fn: () => void): Promise<number> {
  const entries: PerformanceEntry[] = [];
  let end = Infinity;
  let reported = false;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      entries.push(entry);
      if (entry.startTime > end) reported = true;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    // Start with a young generation just collected: garbage the test file made before (or a
    // loaded run's other work in this process) must not have its collection fall inside `fn`.
    const begun = performance.now();
    const pre: unknown[] = [];
    for (let round = 0; !entries.some((e) => e.startTime >= begun); round++) {
      if (round === 10_000) throw new Error('no garbage collection was reported after making garbage');
      for (let j = 0; j < 100; j++) pre[j] = new Array(1000).fill(round);
      await new Promise((resolve) => setImmediate(resolve));
    }
    pre.length = 0;
    const start = performance.now();
    fn();
    end = performance.now();
    const sink: unknown[] = [];
    for (let round = 0; !reported; round++) {
      if (round === 10_000) throw new Error('no garbage collection was reported after making garbage');
      for (let j = 0; j < 100; j++) sink[j] = new Array(1000).fill(round);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return entries.filter((e) => e.startTime >= start && e.startTime <= end).length;
  } finally {
    observer.disconnect();
  }
}
