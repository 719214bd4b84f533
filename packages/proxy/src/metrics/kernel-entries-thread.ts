/**
 * The per-entry kernel family rendered on a thread of its own (see
 * kernel-entries-worker.ts): the scrape lends the thread duplicates of the
 * filters' map fds, the thread walks the maps and writes the family, and
 * hands the bytes back transferred. What stays on the event loop that
 * answers DNS is a dup per map, one message each way and splicing the bytes
 * into the response.
 *
 * A thread that does not answer within the timeout is terminated, one that
 * dies is noted; either way the scrapes waiting on it fail with
 * KernelEntriesThreadError (answered 500 with the reason) and the next
 * scrape starts a new thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BpfMap } from '@dnsdist-ts/bpf';
import type { FilterMapKind } from '@dnsdist-ts/bpf-filter';
import type { CountedFilter } from './bpf-filter-sources.js';
import type { KindActionTotals } from './kernel-block-hits.js';
import type { FilterMapFds, KernelEntriesJob, KernelEntriesReply } from './kernel-entries-messages.js';

/** The maps of a filter, in the order the event loop's walk reads them. */
const KINDS: readonly FilterMapKind[] = ['ipv4', 'ipv6', 'qnames', 'cidr4', 'cidr6'];

/** How long a render may take by default: Prometheus's default scrape timeout. */
export const DEFAULT_RENDER_TIMEOUT_MS = 10_000;

/** The renderer thread failed a scrape: timed out, died, or could not start. */
export class KernelEntriesThreadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The family as the thread rendered it. */
export interface KernelEntriesResult {
  readonly bytes: Buffer;
  readonly totals: KindActionTotals[];
  /** Providers that failed (`kernel-counters-N`) with the reason; their entries are left out. */
  readonly errors: ReadonlyArray<readonly [string, string]>;
}

export interface KernelEntriesThreadOptions {
  /** Milliseconds a render may take before the thread is terminated (default 10 s). */
  readonly timeoutMs?: number;
  /** Start the thread (tests give a thread that hangs or dies); default: kernel-entries-worker.js. */
  readonly spawn?: () => Worker;
}

interface Pending {
  readonly resolve: (r: KernelEntriesResult) => void;
  readonly reject: (e: Error) => void;
  /** The fd duplicates lent to the thread: closed once it can no longer use them. */
  readonly lent: BpfMap[];
  readonly timer: NodeJS.Timeout;
  /** The thread the job went to (a job fails with its own thread only). */
  readonly worker: Worker;
}

/** Next to this file once built; under Jest (sources) the built one in dist/, so the build must have run. */
function workerEntry(): URL {
  const here = new URL('./kernel-entries-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL(here.href.replace('/src/metrics/', '/dist/metrics/'));
}

/** Start the renderer's worker thread (kernel-entries-worker.js): the default `spawn`. */
export function spawnKernelEntriesWorker(): Worker {
  return new Worker(workerEntry());
}

export class KernelEntriesThread {
  readonly #timeoutMs: number;
  readonly #spawn: () => Worker;
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #started = 0;
  #sizeHint = 0;

  constructor(options: KernelEntriesThreadOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_RENDER_TIMEOUT_MS;
    this.#spawn = options.spawn ?? spawnKernelEntriesWorker;
  }

  /** Threads started so far (more than one: it was restarted after a timeout or a death). */
  get threadsStarted(): number {
    return this.#started;
  }

  /**
   * Render the family over these providers' filters (one list per
   * provider, as KernelCounterProvider.kernelFilters gives them).
   *
   * @throws KernelEntriesThreadError when the thread times out, dies or cannot start.
   */
  render(providers: ReadonlyArray<readonly CountedFilter[]>, limit: number | undefined): Promise<KernelEntriesResult> {
    const lent: BpfMap[] = [];
    const fds: FilterMapFds[][] = [];
    for (const filters of providers) {
      const list: FilterMapFds[] = [];
      for (const f of filters) {
        const maps: Array<[FilterMapKind, number]> = [];
        for (const kind of KINDS) {
          const map = f.map(kind);
          if (!map) continue;
          try {
            const copy = map.duplicate();
            lent.push(copy);
            maps.push([kind, copy.fd]);
          } catch {
            // A map closed since: the thread gets an fd it cannot read, which counts as this provider's error.
            maps.push([kind, -1]);
          }
        }
        list.push({ external: f.external, maps });
      }
      fds.push(list);
    }
    const worker = this.#ensureWorker();
    const id = this.#nextId++;
    const job: KernelEntriesJob = { id, limit, providers: fds, sizeHint: this.#sizeHint };
    return new Promise<KernelEntriesResult>((resolve, reject) => {
      const timer = setTimeout(() => this.#timedOut(worker), this.#timeoutMs);
      this.#pending.set(id, { resolve, reject, lent, timer, worker });
      worker.postMessage(job);
    });
  }

  /** Stop the thread; scrapes still waiting fail (a later render starts a new one). */
  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    if (!w) return;
    await w.terminate();
    this.#failAll(w, 'the metrics renderer thread was stopped (the webserver is stopping)');
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = this.#spawn();
    this.#started++;
    // The thread must not keep the process alive: the webserver's sockets say whether it runs.
    worker.unref();
    let failure: string | undefined;
    worker.on('message', (reply: KernelEntriesReply) => this.#answered(reply));
    worker.on('error', (err) => {
      failure ??= err.message;
    });
    worker.on('exit', (code) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#failAll(
        worker,
        `the metrics renderer thread ${failure ? `failed (${failure})` : `exited with code ${code}`} during the scrape; the next scrape starts a new one`,
      );
    });
    this.#worker = worker;
    return worker;
  }

  #answered(reply: KernelEntriesReply): void {
    const p = this.#pending.get(reply.id);
    if (!p) return;
    this.#settle(reply.id, p);
    if (!reply.ok)
      return p.reject(new KernelEntriesThreadError(`the metrics renderer thread could not render the kernel entries: ${reply.message}`));
    this.#sizeHint = reply.length;
    p.resolve({ bytes: Buffer.from(reply.buffer, 0, reply.length), totals: reply.totals, errors: reply.errors });
  }

  #settle(id: number, p: Pending): void {
    this.#pending.delete(id);
    clearTimeout(p.timer);
    for (const m of p.lent) m.close();
  }

  #timedOut(worker: Worker): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    const message = `the metrics renderer thread did not answer within ${this.#timeoutMs} ms and was stopped; the next scrape starts a new one`;
    // The lent fds are closed only once the thread can no longer read them.
    void worker.terminate().finally(() => this.#failAll(worker, message));
  }

  /** Fail the jobs of a thread that can no longer answer (and so no longer reads their fds). */
  #failAll(worker: Worker, message: string): void {
    for (const [id, p] of [...this.#pending]) {
      if (p.worker !== worker) continue;
      this.#settle(id, p);
      p.reject(new KernelEntriesThreadError(message));
    }
  }
}
