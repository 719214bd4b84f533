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
import { LatestDelivery } from './latest-delivery.js';

/** Per bind, in getBind(n) numbering: the socket filter program's descriptor, or null for none. */
export type SocketFilterPlan = (number | null)[];

/** Worker side: attach and detach as `plan` says; returns an error line per bind that failed. */
export function applySocketFilterPlan(ebpf: ProxyEbpf, plan: SocketFilterPlan): string[] {
  return ebpf.applyProgramPlan(plan);
}

/** Control-plane side: sends the plan to the workers when it changes, and says when every worker follows it. */
export class WorkerSocketFilters {
  /** Posts to every worker there is now; returns their indexes. */
  readonly #post: (seq: number, plan: SocketFilterPlan) => number[];
  #plan: SocketFilterPlan = [];
  readonly #delivery = new LatestDelivery();

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
    this.#delivery.send((seq) => this.#post(seq, this.snapshot()));
  }

  /** Worker `index` follows the plan numbered `seq`. */
  applied(index: number, seq: number): void {
    this.#delivery.applied(index, seq);
  }

  /** Worker `index` exited: nothing is waited for from it. */
  gone(index: number): void {
    this.#delivery.gone(index);
  }

  /** Resolves once every worker follows the latest plan (or DELIVERY_GRACE_MS passed). */
  delivered(): Promise<void> {
    return this.#delivery.delivered();
  }
}
