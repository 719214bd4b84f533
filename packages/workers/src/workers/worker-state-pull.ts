/**
 * The control plane reading state the workers keep for themselves (their
 * rings, the queries their copies of the dynamic blocks acted on), at the
 * moment it needs it: a console `topClients`, a group's `apply()`,
 * `showDynBlocks()`. The readers are synchronous (Lua bindings), so is the
 * pull: the control plane posts a request to every worker, then waits on
 * a SharedArrayBuffer word per worker (Atomics.wait) until the worker has
 * posted its answer on a MessagePort the control plane reads with
 * receiveMessageOnPort. A worker answers from its event loop, between two
 * batches of queries; the query path itself pays nothing. A worker that
 * does not answer within `timeoutMs` is left out of that reading
 * (logged). Several readings in one event-loop turn share one pull.
 */
import { performance } from 'node:perf_hooks';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import type { DynamicBlocks } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import type { DownstreamServerInfo } from '@dnsdist-ts/dataplane/query/downstream-server-info.js';
import type { Rings } from '@dnsdist-ts/dataplane/rings/index.js';
import type { TeeActions, TeeStats } from '@dnsdist-ts/dataplane/rules/index.js';
import type { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import {
  applyDynBlocksMessage,
  takeBlockHits,
  WorkerDynBlocks,
  type BlockHits,
  type DynBlocksMessage,
  type PropagationDelays,
} from './worker-dyn-blocks.js';
import { ringDelta, WorkerRingsView, type RingDelta, type RingRequest } from './worker-rings.js';

interface ChannelMessage {
  type: 'state-channel';
  port: MessagePort;
  flags: SharedArrayBuffer;
}

interface PullRequest {
  type: 'state-pull';
  id: number;
  /** Undefined: the reader wants the block counts and tee counters only, not the rings (their copy costs the worker most). */
  rings: RingRequest | undefined;
}

interface PullReply {
  id: number;
  rings: RingDelta | undefined;
  hits: BlockHits[];
  delays: PropagationDelays;
  /** Every TeeAction's counters, by creation position (tee-actions.ts). */
  tees: TeeStats[];
}

interface Attached {
  worker: Worker;
  port: MessagePort;
}

/** The control plane's side. */
export class WorkerStatePull {
  readonly rings: WorkerRingsView;
  readonly blocks: WorkerDynBlocks;
  /** Propagation delays of dynamic-block changes, as the workers last reported them (by worker). */
  readonly delays = new Map<number, PropagationDelays>();
  /** Each TeeAction's counters, as the workers last reported them (by worker, then by creation position). */
  readonly tees = new Map<number, TeeStats[]>();
  /** How long a reading waits for a worker (the control plane's thread waits meanwhile; the workers answer queries). */
  timeoutMs = 2000;
  readonly #flags: Int32Array;
  readonly #attached = new Map<number, Attached>();
  readonly #log: Logger;
  #id = 0;
  /** What this event-loop turn already pulled: the rings too, or the counts only. */
  #pulledThisTurn: 'rings' | 'counts' | undefined = undefined;

  constructor(
    count: number,
    parts: {
      rings: Rings;
      dynBlocks: DynamicBlocks;
      servers: () => readonly DownstreamServerInfo[];
      log: Logger;
      tees?: TeeActions;
    },
  ) {
    this.#flags = new Int32Array(new SharedArrayBuffer(4 * count));
    this.#log = parts.log;
    this.rings = new WorkerRingsView(parts.rings, count, parts.servers);
    this.blocks = new WorkerDynBlocks(parts.dynBlocks);
    parts.rings.beforeRead = () => this.pull();
    parts.dynBlocks.beforeRead = () => this.pull(false);
    if (parts.tees) {
      parts.tees.workers = (position) => {
        this.pull(false);
        return [...this.tees.values()].flatMap((list) => list[position] ?? []);
      };
    }
  }

  /** Worker `index` listens: open its channel, send it the dynamic blocks. */
  workerStarted(index: number, worker: Worker): void {
    const { port1, port2 } = new MessageChannel();
    port1.unref();
    this.#attached.set(index, { worker, port: port1 });
    worker.postMessage({ type: 'state-channel', port: port2, flags: this.#flags.buffer as SharedArrayBuffer } satisfies ChannelMessage, [
      port2,
    ]);
    worker.once('exit', () => {
      if (this.#attached.get(index)?.worker !== worker) return;
      this.#attached.delete(index);
      port1.close();
      this.rings.forget(index);
      this.tees.delete(index);
    });
    this.blocks.workerStarted(index, worker);
  }

  /**
   * Bring the block counts and tee counters up to date, and with `rings`
   * the copy of every worker's rings too (once per event-loop turn). A
   * reader of blocks only (the dashboard's sampling, showDynBlocks) leaves
   * the rings out: copying them costs each worker a pause proportional to
   * the queries since the last copy.
   */
  pull(rings = true): void {
    if (this.#pulledThisTurn === 'rings' || (this.#pulledThisTurn === 'counts' && !rings)) return;
    if (this.#pulledThisTurn === undefined) queueMicrotask(() => (this.#pulledThisTurn = undefined));
    this.#pulledThisTurn = rings ? 'rings' : 'counts';
    const id = (this.#id = (this.#id % 0x7fffffff) + 1);
    const asked: number[] = [];
    for (const [index, a] of this.#attached) {
      a.worker.postMessage({ type: 'state-pull', id, rings: rings ? this.rings.request(index) : undefined } satisfies PullRequest);
      asked.push(index);
    }
    const deadline = performance.now() + this.timeoutMs;
    for (const index of asked) {
      const a = this.#attached.get(index)!;
      for (;;) {
        const seen = Atomics.load(this.#flags, index);
        if (seen === id) break;
        const left = deadline - performance.now();
        if (left <= 0) break;
        Atomics.wait(this.#flags, index, seen, left);
      }
      let reply: PullReply | undefined;
      for (let got = receiveMessageOnPort(a.port); got; got = receiveMessageOnPort(a.port)) {
        const m = got.message as PullReply;
        if (m.id === id) {
          reply = m;
          break;
        }
        // An answer to an earlier pull that timed out: its ring entries come again in this one
        // (the request's `since` did not move), its block counts (taken from the worker) do not.
        this.blocks.addHits(m.hits);
      }
      if (!reply) {
        this.#log.warn(
          `Data-plane worker ${index} did not answer within ${this.timeoutMs} ms: its rings and block counts are left out of this reading`,
        );
        continue;
      }
      if (reply.rings) this.rings.apply(index, reply.rings);
      this.blocks.addHits(reply.hits);
      this.delays.set(index, reply.delays);
      this.tees.set(index, reply.tees);
    }
  }

  /**
   * How many dynamic-block messages each running worker has applied (a
   * pull first): a change has reached every worker once each count grew.
   */
  blockChangesApplied(): number[] {
    this.pull(false);
    return [...this.#attached.keys()].sort((a, b) => a - b).map((i) => this.delays.get(i)?.count ?? 0);
  }

  stop(): void {
    this.blocks.stop();
  }
}

/**
 * The worker's side: answers the control plane's pulls and applies its
 * dynamic-block changes. `port` is the worker's parentPort.
 */
export function serveWorkerState(
  port: MessagePort,
  index: number,
  parts: { rings: Rings; dynBlocks: DynamicBlocks; servers: () => readonly DownstreamServerInfo[]; tees?: TeeActions },
): void {
  let reply: MessagePort | undefined;
  let flags: Int32Array | undefined;
  const delays: PropagationDelays = { count: 0, total: 0, max: 0 };
  port.on('message', (m: ChannelMessage | PullRequest | DynBlocksMessage | { type: string }) => {
    if (m.type === 'state-channel') {
      const c = m as ChannelMessage;
      reply = c.port;
      flags = new Int32Array(c.flags);
    } else if (m.type === 'state-pull' && reply && flags) {
      const p = m as PullRequest;
      const answer: PullReply = {
        id: p.id,
        rings: p.rings ? ringDelta(parts.rings, p.rings, parts.servers()) : undefined,
        hits: takeBlockHits(parts.dynBlocks),
        delays: { ...delays },
        tees: parts.tees?.snapshot() ?? [],
      };
      reply.postMessage(answer);
      Atomics.store(flags, index, p.id);
      Atomics.notify(flags, index);
    } else if (m.type === 'dynblocks') {
      applyDynBlocksMessage(parts.dynBlocks, m as DynBlocksMessage, delays);
    }
  });
}
