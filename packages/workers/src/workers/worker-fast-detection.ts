/**
 * Fast dynamic-block detection (setDynBlocksFastDetection) with data-plane
 * workers. Each worker sees only its share of a client's queries (one
 * source port always reaches the same worker, many are spread), so no
 * worker can tell alone that a client crossed a group's rate, and a
 * per-worker block at rate / N would block clients that are under the
 * rate in total. Instead:
 *
 * - each worker counts its own queries per client, as one process does
 *   (FastDetector), against the control plane's lowest rate divided by the
 *   number of workers: a client that crosses the rate in total crosses
 *   that share in at least one worker at the same moment;
 * - a crossing is only a candidate: the worker posts one message to the
 *   control plane (at most one per 50 ms, whatever the number of clients);
 * - the control plane runs the groups' query rules at once, as its own
 *   fast pass: apply() reads every worker's rings (worker-state-pull.ts),
 *   so what is blocked, and when, is what maintenance() would decide over
 *   all the queries, and the block reaches the workers and the kernel
 *   through the table of record (worker-dyn-blocks.ts).
 *
 * A client over its share in one worker but under the rate in total costs
 * passes (spaced by at least 50 ms and ten times their cost), never a block.
 * The query path pays what it pays with one process: a hash and an
 * increment per query.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import type { PassedQueryObserver } from '@dnsdist-ts/dynblocks/dynblocks/dyn-block-query-check.js';
import type { FastDetectionSettings, FastDetector } from '@dnsdist-ts/dynblocks/dynblocks/fast-detector.js';

/** Control plane → worker: the settings to follow. */
export interface FastDetectionMessage extends FastDetectionSettings {
  type: 'fast-detection';
}

/** Worker → control plane: a client went over its share of the rate here. */
export interface FastCandidateMessage {
  type: 'fast-candidate';
}

function sameSettings(a: FastDetectionSettings | undefined, b: FastDetectionSettings): boolean {
  return a !== undefined && a.enabled === b.enabled && a.rate === b.rate && a.v4Bits === b.v4Bits;
}

/** The control plane's side: sends the settings to every worker, turns their candidates into passes. */
export class WorkerFastDetection {
  readonly #fast: FastDetector;
  readonly #workers = new Map<number, Worker>();
  #sent: FastDetectionSettings | undefined;
  /** Candidates each worker reported (by worker index): for showWorkers-like checks and tests. */
  readonly candidates: number[];

  /**
   * @param pull brings the control plane's copy of the workers' rings up
   * to date (WorkerStatePull.pull): run before each pass, outside its cost.
   */
  constructor(fast: FastDetector, count: number, pull: () => void) {
    this.#fast = fast;
    this.candidates = new Array<number>(count).fill(0);
    fast.onSettingsChanged = () => this.#broadcast();
    fast.beforePass = pull;
  }

  /** Worker `index` listens: send it the settings, listen to its reports. */
  workerStarted(index: number, worker: Worker): void {
    this.#workers.set(index, worker);
    worker.on('message', (m: { type?: unknown }) => {
      if (m.type !== 'fast-candidate') return;
      this.candidates[index] = (this.candidates[index] ?? 0) + 1;
      this.#fast.requestPass();
    });
    worker.once('exit', () => {
      if (this.#workers.get(index) === worker) this.#workers.delete(index);
    });
    worker.postMessage({ type: 'fast-detection', ...this.#fast.settings } satisfies FastDetectionMessage);
  }

  #broadcast(): void {
    const settings = this.#fast.settings;
    if (sameSettings(this.#sent, settings)) return;
    this.#sent = settings;
    for (const w of this.#workers.values()) w.postMessage({ type: 'fast-detection', ...settings } satisfies FastDetectionMessage);
  }
}

/** Where a worker's detector is installed: the per-query dynamic-block check. */
export interface FastDetectionHost {
  observer: PassedQueryObserver | undefined;
}

/**
 * The worker's side: until the control plane says otherwise, no detection
 * (the configuration's setDynBlocksFastDetection ran against groups that
 * are applied elsewhere); then its detector follows the control plane's
 * settings and reports crossings on `port` (the worker's parentPort).
 */
export function serveFastDetection(port: MessagePort, fast: FastDetector, host: FastDetectionHost, workers: number): void {
  const report = (): void => port.postMessage({ type: 'fast-candidate' } satisfies FastCandidateMessage);
  host.observer = undefined;
  fast.enabled = false;
  port.on('message', (m: { type?: unknown }) => {
    if (m.type !== 'fast-detection') return;
    const s = m as FastDetectionMessage;
    fast.follow({ rate: s.rate, v4Bits: s.v4Bits, divisor: workers, onCandidate: report });
    fast.enabled = s.enabled;
    host.observer = s.enabled ? fast : undefined;
  });
}
