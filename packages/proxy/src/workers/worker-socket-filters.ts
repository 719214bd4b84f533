/**
 * Socket filters (internal-mode BPF filters: setDefaultBPFFilter,
 * getBind(n):attachFilter, bpf:attachToAllBinds) with data-plane workers.
 * The listening sockets live in the workers, the filters in the control
 * plane, which alone writes their maps (dynamic blocks, bpf:block…).
 * worker_threads share the process's descriptor table, so the program
 * descriptor a control-plane filter holds is valid in every worker: the
 * control plane says which program goes on which bind (getBind numbering)
 * and each worker attaches it to its own sockets. Each message carries the
 * whole plan, so only the latest one matters; a worker started later (a
 * restart) starts with the plan of record.
 */
import type { ProxyEbpf } from '@dnsdist-ts/ebpf/ebpf/proxy-ebpf.js';

/** Per bind, in getBind(n) numbering: the socket filter program's descriptor, or null for none. */
export type SocketFilterPlan = (number | null)[];

/** Worker side: attach and detach as `plan` says; returns an error line per bind that failed. */
export function applySocketFilterPlan(ebpf: ProxyEbpf, plan: SocketFilterPlan): string[] {
  return ebpf.applyProgramPlan(plan);
}

/** How long the console waits for the workers to take a new plan before it replies without them. */
const DELIVERY_GRACE_MS = 5000;

interface Delivery {
  seq: number;
  pending: Set<number>;
  done: Promise<void>;
  resolve: () => void;
}

/** Control-plane side: sends the plan to the workers when it changes, and says when every worker follows it. */
export class WorkerSocketFilters {
  /** Posts to every worker there is now; returns their indexes. */
  readonly #post: (seq: number, plan: SocketFilterPlan) => number[];
  #plan: SocketFilterPlan = [];
  #seq = 0;
  #latest: Delivery | undefined;

  constructor(post: (seq: number, plan: SocketFilterPlan) => number[]) {
    this.#post = post;
  }

  /** The plan now, for a worker being started. */
  snapshot(): SocketFilterPlan {
    return [...this.#plan];
  }

  /** A new plan: posted at once to every worker. */
  send(plan: SocketFilterPlan): void {
    this.#plan = [...plan];
    const seq = ++this.#seq;
    const targets = this.#post(seq, this.snapshot());
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const delivery: Delivery = { seq, pending: new Set(targets), done, resolve };
    this.#latest?.resolve();
    this.#latest = delivery;
    if (delivery.pending.size === 0) return resolve();
    setTimeout(resolve, DELIVERY_GRACE_MS).unref();
  }

  /** Worker `index` follows the plan numbered `seq`. */
  applied(index: number, seq: number): void {
    const d = this.#latest;
    if (d && seq >= d.seq) this.#settle(d, index);
  }

  /** Worker `index` exited: nothing is waited for from it. */
  gone(index: number): void {
    if (this.#latest) this.#settle(this.#latest, index);
  }

  /** Resolves once every worker follows the latest plan (or DELIVERY_GRACE_MS passed). */
  delivered(): Promise<void> {
    return this.#latest?.done ?? Promise.resolve();
  }

  #settle(d: Delivery, index: number): void {
    d.pending.delete(index);
    if (d.pending.size === 0) d.resolve();
  }
}
