/**
 * The per-entry kernel family rendered on a thread of its own (see
 * kernel-entries-worker.ts and the two steps in kernel-entries-messages.ts):
 * the scrape lends the thread duplicates of the filters' map fds, the thread
 * walks the maps and writes the family, the scrape adds its other families,
 * and the thread writes the body (gzipped when asked) into a shared buffer
 * the event loop reuses. What stays on the event loop that answers DNS is a
 * dup per map, four small messages, and the socket write.
 *
 * A thread that does not answer a step within the timeout is terminated,
 * one that dies is noted; either way the scrapes waiting on it fail with
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
import type { FilterMapFds, FromRenderer, ToRenderer } from './kernel-entries-messages.js';

/** The maps of a filter, in the order the event loop's walk reads them. */
const KINDS: readonly FilterMapKind[] = ['ipv4', 'ipv6', 'qnames', 'cidr4', 'cidr6'];

/** How long a step may take by default: Prometheus's default scrape timeout. */
export const DEFAULT_RENDER_TIMEOUT_MS = 10_000;

/** Body buffers kept for the next scrapes (one per scrape served at the same time). */
const KEPT_BODY_BUFFERS = 2;

/** The renderer thread failed a scrape: timed out, died, or could not start. */
export class KernelEntriesThreadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A scrape's body in a reused buffer: call `release()` once it is written out (or will not be). */
export interface RenderedBody {
  readonly body: Buffer;
  readonly gzip: boolean;
  readonly release: () => void;
}

/** The family rendered and held by the thread, waiting for the rest of the scrape. */
export interface RenderedEntries {
  readonly totals: KindActionTotals[];
  /** Providers that failed (`kernel-counters-N`) with the reason; their entries are left out. */
  readonly errors: ReadonlyArray<readonly [string, string]>;
  /** Bytes of the family. */
  readonly length: number;
  /** The body: `head` (the other families), then the family; gzipped when asked. */
  finish(head: string, gzip: boolean): Promise<RenderedBody>;
  /** The scrape will not be finished: the thread forgets the family. */
  drop(): void;
}

export interface KernelEntriesThreadOptions {
  /** Milliseconds a step may take before the thread is terminated (default 10 s). */
  readonly timeoutMs?: number;
  /** Start the thread (tests give a thread that hangs or dies); default: spawnKernelEntriesWorker. */
  readonly spawn?: () => Worker;
}

interface Pending {
  readonly answered: (reply: FromRenderer) => void;
  readonly reject: (e: Error) => void;
  /** The fd duplicates lent to the thread: closed once it can no longer use them. */
  readonly lent: BpfMap[];
  readonly timer: NodeJS.Timeout;
  /** The thread the step went to (a step fails with its own thread only). */
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

/** Room for `n` bytes after gzip at its worst (stored blocks: 5 bytes per 16 KiB, plus header and trailer). */
function gzipBound(n: number): number {
  return n + 5 * Math.ceil(n / 16_384) + 64;
}

export class KernelEntriesThread {
  readonly #timeoutMs: number;
  readonly #spawn: () => Worker;
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #started = 0;
  #sizeHint = 0;
  #made = 0;
  /** Body buffers free for the next scrape; shared, so the thread writes into them and nothing is copied or transferred. */
  readonly #free: SharedArrayBuffer[] = [];

  constructor(options: KernelEntriesThreadOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_RENDER_TIMEOUT_MS;
    this.#spawn = options.spawn ?? spawnKernelEntriesWorker;
  }

  /** Body buffers made so far (they are reused: this stays small over any number of scrapes). */
  get bodyBuffersMade(): number {
    return this.#made;
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
  async render(providers: ReadonlyArray<readonly CountedFilter[]>, limit: number | undefined): Promise<RenderedEntries> {
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
    const reply = await this.#ask(worker, { type: 'render', id, limit, providers: fds, sizeHint: this.#sizeHint }, lent);
    if (reply.type !== 'rendered') throw new KernelEntriesThreadError(`the metrics renderer thread answered ${reply.type} to render`);
    this.#sizeHint = reply.length;
    return {
      totals: reply.totals,
      errors: reply.errors,
      length: reply.length,
      finish: (head, gzip) => this.#finish(worker, id, reply.length, head, gzip),
      drop: () => {
        if (this.#worker === worker) worker.postMessage({ type: 'drop', id } satisfies ToRenderer);
      },
    };
  }

  async #finish(worker: Worker, id: number, entries: number, head: string, gzip: boolean): Promise<RenderedBody> {
    if (this.#worker !== worker)
      throw new KernelEntriesThreadError('the metrics renderer thread was replaced during the scrape; the next scrape uses the new one');
    const plain = Buffer.byteLength(head, 'utf8') + entries;
    const target = this.#acquire(gzip ? gzipBound(plain) : plain);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#keep(target);
    };
    try {
      const reply = await this.#ask(worker, { type: 'finish', id, head, gzip, target }, []);
      if (reply.type !== 'finished') throw new KernelEntriesThreadError(`the metrics renderer thread answered ${reply.type} to finish`);
      return { body: Buffer.from(target, 0, reply.length), gzip, release };
    } catch (err) {
      // The thread is gone or failed this step: nothing writes into the buffer any more.
      release();
      throw err;
    }
  }

  /** A free body buffer of at least `n` bytes, or a new one with room to grow. */
  #acquire(n: number): SharedArrayBuffer {
    const i = this.#free.findIndex((b) => b.byteLength >= n);
    if (i >= 0) return this.#free.splice(i, 1)[0]!;
    this.#made++;
    return new SharedArrayBuffer(Math.ceil(n * 1.25));
  }

  /** Keep a released body buffer for the next scrapes (the largest few). */
  #keep(b: SharedArrayBuffer): void {
    this.#free.push(b);
    this.#free.sort((x, y) => y.byteLength - x.byteLength);
    this.#free.length = Math.min(this.#free.length, KEPT_BODY_BUFFERS);
  }

  #ask(worker: Worker, message: ToRenderer, lent: BpfMap[]): Promise<FromRenderer> {
    return new Promise<FromRenderer>((resolve, reject) => {
      const timer = setTimeout(() => this.#timedOut(worker), this.#timeoutMs);
      const answered = (reply: FromRenderer): void => {
        if (reply.type === 'failed')
          reject(new KernelEntriesThreadError(`the metrics renderer thread could not render the scrape: ${reply.message}`));
        else resolve(reply);
      };
      this.#pending.set(message.id, { answered, reject, lent, timer, worker });
      worker.postMessage(message);
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
    worker.on('message', (reply: FromRenderer) => {
      const p = this.#pending.get(reply.id);
      if (!p || p.worker !== worker) return;
      this.#settle(reply.id, p);
      p.answered(reply);
    });
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

  /** Fail the steps of a thread that can no longer answer (and so no longer reads their fds). */
  #failAll(worker: Worker, message: string): void {
    for (const [id, p] of [...this.#pending]) {
      if (p.worker !== worker) continue;
      this.#settle(id, p);
      p.reject(new KernelEntriesThreadError(message));
    }
  }
}
