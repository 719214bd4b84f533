/** What the control plane and its data-plane workers tell each other (postMessage), and what a worker starts with. */
import type { AppOptions } from '../app/dnsdist-app.js';
import type { CacheRequest, WorkerCacheBuffers } from './worker-caches.js';

/** A worker's workerData. */
export interface WorkerStart {
  /** 0 … N-1: the worker's row in the counters buffer. */
  index: number;
  /** The command line's options (a worker runs the same configuration). */
  options: AppOptions & { output?: never };
  /** Port per listener (listenerConfigs() order) once the first worker bound them; absent: as configured. */
  ports: number[] | undefined;
  /** Backend up/down as the control plane decides it, by proxy.servers index. */
  serversUp: boolean[];
  /** The client ACL as the control plane has it now (the console may have changed it since start-up). */
  acl: string[];
  /** Every worker's counter row (CounterLayout), rowLength doubles each. */
  counters: SharedArrayBuffer;
  rowLength: number;
  /** Every worker's packet-cache statistics and its reply words (worker-caches.ts). */
  caches: WorkerCacheBuffers;
  /** How many workers share those buffers. */
  workers: number;
}

export type WorkerToControl =
  | { type: 'listening'; ports: number[]; kinds: Array<'dgram' | 'native'> }
  | { type: 'failed'; message: string }
  | { type: 'log'; level: 'info' | 'warning' | 'error' | 'verbose'; line: string };

export type ControlToWorker = { type: 'servers'; up: boolean[] } | { type: 'acl'; masks: string[] } | { type: 'stop' } | CacheRequest;
