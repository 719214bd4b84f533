/**
 * Work done while a native receive batch is being dispatched. Queries
 * received on one socket are forwarded on another (client → backend, and
 * back), so sends queued on any endpoint during a batch are flushed once
 * the batch ends: one sendmmsg per endpoint per batch, and no microtask
 * per datagram (Node's queueMicrotask allocates on every call).
 */
interface Flushable {
  flush(): void;
}

let depth = 0;
// A fixed array and a count: resetting an array's length would drop its backing store each batch.
const dirty: (Flushable | undefined)[] = new Array(64).fill(undefined);
let dirtyCount = 0;

/** Is a native batch being dispatched right now? */
export function inBatchDispatch(): boolean {
  return depth > 0;
}

/** Call before dispatching a batch. */
export function enterBatchDispatch(): void {
  depth++;
}

/** Call after dispatching a batch: the outermost one flushes every endpoint that queued sends. */
export function leaveBatchDispatch(): void {
  depth--;
  if (depth > 0) return;
  // Flushing never dispatches a batch, but read the count each time in case a flush marks another endpoint.
  for (let i = 0; i < dirtyCount; i++) {
    const ep = dirty[i]!;
    dirty[i] = undefined;
    ep.flush();
  }
  dirtyCount = 0;
}

/** An endpoint queued a send during a batch: flush it when the batch ends (once). */
export function flushAfterBatch(endpoint: Flushable): void {
  for (let i = 0; i < dirtyCount; i++) if (dirty[i] === endpoint) return;
  if (dirtyCount === dirty.length) dirty.push(undefined);
  dirty[dirtyCount++] = endpoint;
}
