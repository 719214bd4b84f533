import type { SocketAddress } from '../query/client-address.js';
import type { Transport } from '../query/dns-question.js';
import type { DownstreamServerInfo } from '../query/downstream-server-info.js';
import { rcodeOf } from './dns-header-names.js';
import type { QueryRing } from './query-ring.js';
import { TIMEOUT_LATENCY_USEC, type ResponseRing } from './response-ring.js';
import { transportOf } from './ring-transport.js';

/**
 * A window onto one query-ring entry. Walks reuse a single instance and
 * move it from entry to entry, so it is only valid inside the callback
 * that received it: copy out what you need to keep.
 */
export class QueryEntry {
  #ring: QueryRing | undefined;
  #slot = 0;

  /** Point this view at `slot` of `ring` (used by the walks). */
  moveTo(ring: QueryRing, slot: number): this {
    this.#ring = ring;
    this.#slot = slot;
    return this;
  }

  #r(): QueryRing {
    if (this.#ring === undefined) throw new RangeError('this QueryEntry is not positioned on a ring entry: use it inside a walk callback');
    return this.#ring;
  }

  /** Receive time, ms on the performance.now() clock. */
  get time(): number {
    return this.#r().time[this.#slot]!;
  }
  get qname(): string {
    return this.#r().qname[this.#slot]!;
  }
  get qtype(): number {
    return this.#r().qtype[this.#slot]!;
  }
  /** Query size in bytes. */
  get size(): number {
    return this.#r().size[this.#slot]!;
  }
  /** 16-bit header flags word. */
  get flags(): number {
    return this.#r().flags[this.#slot]!;
  }
  get id(): number {
    return this.#r().id[this.#slot]!;
  }
  get transport(): Transport {
    return transportOf(this.#r().transport[this.#slot]!);
  }
  get client(): SocketAddress | null {
    return this.#r().client[this.#slot]!;
  }
}

/**
 * A window onto one response-ring entry; like {@link QueryEntry}, only
 * valid inside the walk callback that received it.
 */
export class ResponseEntry {
  #ring: ResponseRing | undefined;
  #slot = 0;

  /** Point this view at `slot` of `ring` (used by the walks). */
  moveTo(ring: ResponseRing, slot: number): this {
    this.#ring = ring;
    this.#slot = slot;
    return this;
  }

  #r(): ResponseRing {
    if (this.#ring === undefined)
      throw new RangeError('this ResponseEntry is not positioned on a ring entry: use it inside a walk callback');
    return this.#ring;
  }

  /** When the answer (or the timeout) was recorded, ms on the performance.now() clock. */
  get time(): number {
    return this.#r().time[this.#slot]!;
  }
  get qname(): string {
    return this.#r().qname[this.#slot]!;
  }
  get qtype(): number {
    return this.#r().qtype[this.#slot]!;
  }
  /** Response size in bytes. */
  get size(): number {
    return this.#r().size[this.#slot]!;
  }
  /** The response's 16-bit header flags word. */
  get flags(): number {
    return this.#r().flags[this.#slot]!;
  }
  get rcode(): number {
    return rcodeOf(this.#r().flags[this.#slot]!);
  }
  get id(): number {
    return this.#r().id[this.#slot]!;
  }
  get ancount(): number {
    return this.#r().ancount[this.#slot]!;
  }
  /** Backend latency in microseconds; {@link TIMEOUT_LATENCY_USEC} for a timeout. */
  get latencyUsec(): number {
    return this.#r().latency[this.#slot]!;
  }
  /** True when the backend never answered. */
  get timedOut(): boolean {
    return this.#r().latency[this.#slot] === TIMEOUT_LATENCY_USEC;
  }
  get transport(): Transport {
    return transportOf(this.#r().transport[this.#slot]!);
  }
  get client(): SocketAddress | null {
    return this.#r().client[this.#slot]!;
  }
  get server(): DownstreamServerInfo | null {
    return this.#r().server[this.#slot]!;
  }
}
