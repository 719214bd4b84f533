import type { BPFFilter } from '@dnsdist-ts/bpf-filter';
import type { KernelBlockSink } from '@dnsdist-ts/dynblocks/dynblocks/kernel-block-sink.js';
import type { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import { BpfFilterKernelSink } from './bpf-filter-kernel-sink.js';
import { KernelInsertFailureLog } from './kernel-insert-failure-log.js';

/** Called with the sink over the new default filter (undefined when it is unset). */
export type DefaultFilterListener = (sink: KernelBlockSink | undefined, filter: BPFFilter | undefined) => void;

/**
 * The default BPF filter (`setDefaultBPFFilter`) and the KernelBlockSink
 * over it, published for the dynamic-block engine. The composition root
 * (app/dnsdist-app.ts) makes one and gives it to both ProxyEbpf, which
 * sets it, and the dynamic blocks, which follow it, so that those two
 * need not know each other:
 *
 * ```ts
 * const registry = new DefaultBpfFilterRegistry(proxy.log);
 * registry.onChange((sink) => blocks.setKernelSink(sink));
 * const ebpf = new ProxyEbpf(proxy, registry);
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

  /**
   * Make `filter` the default (undefined: none) and tell the listeners.
   * The old sink stays open until every listener has heard: they take
   * their entries out of the old filter through it, so nothing is left
   * behind in a filter that is no longer the default.
   */
  set(filter: BPFFilter | undefined): void {
    if (filter === this.#filter) return;
    const old = this.#sink;
    this.#filter = filter;
    this.#sink = filter ? new BpfFilterKernelSink(filter, this.failures, (line) => this.#log.warn(line)) : undefined;
    try {
      for (const l of this.#listeners) l(this.#sink, filter);
    } finally {
      old?.close();
    }
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
