import type { BPFFilter } from '@dnsdist-ts/bpf-filter';
import type { KernelBlockSink } from '../dynblocks/kernel-block-sink.js';
import type { Logger } from '../server/logger.js';
import { BpfFilterKernelSink } from './bpf-filter-kernel-sink.js';
import { KernelInsertFailureLog } from './kernel-insert-failure-log.js';

/** Called with the sink over the new default filter (undefined when it is unset). */
export type DefaultFilterListener = (sink: KernelBlockSink | undefined, filter: BPFFilter | undefined) => void;

const REGISTRIES = new WeakMap<object, DefaultBpfFilterRegistry>();

/**
 * The default BPF filter (`setDefaultBPFFilter`) and the KernelBlockSink
 * over it, published for the dynamic-block engine. One per proxy, found
 * with `DefaultBpfFilterRegistry.forProxy(proxy)`, so the engine and the
 * eBPF bindings need not know each other:
 *
 * ```ts
 * DefaultBpfFilterRegistry.forProxy(proxy).onChange((sink) => (engine.kernelSink = sink));
 * ```
 */
export class DefaultBpfFilterRegistry {
  /** Refused insertions over every sink this registry handed out (the `kernel-insert-failures` metric). */
  readonly failures: KernelInsertFailureLog;
  readonly #log: Pick<Logger, 'warn'>;
  readonly #listeners = new Set<DefaultFilterListener>();
  #filter: BPFFilter | undefined;
  #sink: BpfFilterKernelSink | undefined;

  constructor(log: Pick<Logger, 'warn'>) {
    this.#log = log;
    this.failures = new KernelInsertFailureLog((line) => log.warn(line));
  }

  /** The registry of a proxy (created on first use, logging to the proxy's log). */
  static forProxy(proxy: { log: Pick<Logger, 'warn'> }): DefaultBpfFilterRegistry {
    let r = REGISTRIES.get(proxy);
    if (!r) {
      r = new DefaultBpfFilterRegistry(proxy.log);
      REGISTRIES.set(proxy, r);
    }
    return r;
  }

  get filter(): BPFFilter | undefined {
    return this.#filter;
  }

  get sink(): BpfFilterKernelSink | undefined {
    return this.#sink;
  }

  /** Insertions the kernel refused so far. */
  get kernelInsertFailures(): number {
    return this.failures.total;
  }

  /** Make `filter` the default (undefined: none) and tell the listeners. */
  set(filter: BPFFilter | undefined): void {
    if (filter === this.#filter) return;
    this.#sink?.close();
    this.#filter = filter;
    this.#sink = filter ? new BpfFilterKernelSink(filter, this.failures, (line) => this.#log.warn(line)) : undefined;
    for (const l of this.#listeners) l(this.#sink, filter);
  }

  /** Listen for changes; `listener` is also called at once with the current sink. Returns the unsubscribe function. */
  onChange(listener: DefaultFilterListener): () => void {
    this.#listeners.add(listener);
    listener(this.#sink, this.#filter);
    return () => this.#listeners.delete(listener);
  }

  /** Unset the default filter (listeners hear undefined, and take their entries out of the kernel). */
  close(): void {
    this.set(undefined);
  }

  /**
   * The proxy is stopping: release the sink without telling the listeners,
   * so that the dynamic blocks' kernel entries stay in the pinned maps with
   * their deadlines for the next run to inherit. The sink does nothing
   * from now on.
   */
  release(): void {
    this.#sink?.close();
  }
}
