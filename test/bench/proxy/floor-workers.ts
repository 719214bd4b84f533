/**
 * The main thread of a floor forwarder run with WORKERS above 1: it starts
 * that many worker threads, each running the same file (the worker's own
 * listener and backend sockets), and prints "floor workers listening" once
 * every one has posted that it listens. It does nothing else, as
 * dnsdist-ts's control plane leaves the query path to its workers.
 */
import { Worker } from 'node:worker_threads';

/** Start `workers` threads of the module at `moduleUrl`, each given `args` (ending in its own count, '1') as workerData. */
export function startFloorWorkers(moduleUrl: string, args: readonly string[], workers: number): void {
  let listening = 0;
  const threads = Array.from({ length: workers }, () => {
    // The worker loads the file through tsx's loader, registered in its own thread (Node 20 does not pass it on).
    const w = new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl)}); });`, {
      eval: true,
      workerData: [...args],
      execArgv: [],
    });
    w.on('message', () => {
      if (++listening === workers) console.log('floor workers listening');
    });
    w.on('error', (err) => {
      console.error(err);
      process.exit(1);
    });
    return w;
  });
  const stopAll = (): void => void Promise.all(threads.map((t) => t.terminate())).then(() => process.exit(0));
  process.on('SIGTERM', stopAll);
  process.on('SIGINT', stopAll);
}
