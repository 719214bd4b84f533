import type { SocketAddress } from '../query/client-address.js';
import type { DNSQuestion } from '../query/dns-question.js';
import type { DNSResponse } from '../query/dns-response.js';
import type { DownstreamServerInfo } from '../query/downstream-server-info.js';
import { transportCode } from './ring-transport.js';

/**
 * The latency dnsdist stores for a query the backend never answered (its
 * `std::numeric_limits<unsigned int>::max()`): grepq prints "T.O" for it,
 * showResponseLatency skips it, topSlow counts it as slow.
 */
export const TIMEOUT_LATENCY_USEC = 0xffffffff;

/** The plain columns of response entries, as a copy of a ring sends them. */
export interface ResponseColumns {
  readonly time: ArrayLike<number>;
  readonly seq: ArrayLike<number>;
  readonly qname: readonly string[];
  readonly qtype: ArrayLike<number>;
  readonly size: ArrayLike<number>;
  readonly flags: ArrayLike<number>;
  readonly id: ArrayLike<number>;
  readonly ancount: ArrayLike<number>;
  readonly latency: ArrayLike<number>;
  readonly transport: ArrayLike<number>;
}

/**
 * One shard of the response ring buffer: a fixed-size circular buffer of
 * the latest backend answers (and timeouts), stored column by column so
 * that inserting writes preallocated slots and allocates nothing.
 *
 * Name, type, client and transport are the query's; header fields and
 * size are the response's. Columns are public for the analyses; treat
 * them as read-only and walk them with {@link ResponseRing.slot}.
 */
export class ResponseRing {
  readonly capacity: number;
  /** When the answer was recorded, milliseconds on the performance.now() clock. */
  readonly time: Float64Array;
  /** Insertion sequence number, shared with the query ring. */
  readonly seq: Float64Array;
  readonly qname: string[];
  readonly qtype: Uint16Array;
  /** Response size in bytes (0 for a timeout). */
  readonly size: Uint32Array;
  /** The response's 16-bit header flags word (0 for a timeout). */
  readonly flags: Uint16Array;
  /** DNS message ID of the response (the query's for a timeout). */
  readonly id: Uint16Array;
  /** Answer count from the response header. */
  readonly ancount: Uint16Array;
  /** Backend latency in microseconds; {@link TIMEOUT_LATENCY_USEC} for a timeout. */
  readonly latency: Float64Array;
  readonly transport: Uint8Array;
  readonly client: (SocketAddress | null)[];
  /** The backend; null for answers that did not come from one (cache, self-answered). */
  readonly server: (DownstreamServerInfo | null)[];
  #next = 0;
  #count = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.time = new Float64Array(capacity);
    this.seq = new Float64Array(capacity);
    this.qname = new Array<string>(capacity).fill('');
    this.qtype = new Uint16Array(capacity);
    this.size = new Uint32Array(capacity);
    this.flags = new Uint16Array(capacity);
    this.id = new Uint16Array(capacity);
    this.ancount = new Uint16Array(capacity);
    this.latency = new Float64Array(capacity);
    this.transport = new Uint8Array(capacity);
    this.client = new Array<SocketAddress | null>(capacity).fill(null);
    this.server = new Array<DownstreamServerInfo | null>(capacity).fill(null);
  }

  /** Entries currently held, at most `capacity`. */
  get count(): number {
    return this.#count;
  }

  /** Slot index of the k-th oldest entry (0 <= k < count). */
  slot(k: number): number {
    const s = this.#next - this.#count + k;
    return s < 0 ? s + this.capacity : s;
  }

  /** Record the answer `dr`, received at `now` (ms). */
  push(dr: DNSResponse, now: number, seq: number): void {
    const capacity = this.capacity;
    if (capacity === 0) return;
    const i = this.#next;
    const question = dr.question;
    const view = question.view;
    const packet = dr.packet;
    this.time[i] = now;
    this.seq[i] = seq;
    this.qname[i] = view.qname;
    this.qtype[i] = view.qtype;
    this.size[i] = dr.length;
    // A short packet reads undefined here, which the bit operations turn into 0.
    this.id[i] = (packet[0]! << 8) | packet[1]!;
    this.flags[i] = (packet[2]! << 8) | packet[3]!;
    this.ancount[i] = (packet[6]! << 8) | packet[7]!;
    const latency = dr.latencyUsec;
    this.latency[i] = latency > 0 ? latency : 0;
    this.transport[i] = transportCode(question.transport);
    this.client[i] = question.remote;
    this.server[i] = dr.server ?? null;
    this.#next = i + 1 === capacity ? 0 : i + 1;
    if (this.#count < capacity) this.#count++;
  }

  /**
   * Record that `server` never answered `dq`, noticed at `now`. Like
   * dnsdist, the entry has an all-zero header except the query's ID, no
   * size, and the timeout latency.
   */
  pushTimeout(dq: DNSQuestion, server: DownstreamServerInfo | undefined, now: number, seq: number): void {
    const capacity = this.capacity;
    if (capacity === 0) return;
    const i = this.#next;
    const packet = dq.packet;
    this.time[i] = now;
    this.seq[i] = seq;
    this.qname[i] = dq.view.qname;
    this.qtype[i] = dq.view.qtype;
    this.size[i] = 0;
    this.id[i] = (packet[0]! << 8) | packet[1]!;
    this.flags[i] = 0;
    this.ancount[i] = 0;
    this.latency[i] = TIMEOUT_LATENCY_USEC;
    this.transport[i] = transportCode(dq.transport);
    this.client[i] = dq.remote;
    this.server[i] = server ?? null;
    this.#next = i + 1 === capacity ? 0 : i + 1;
    if (this.#count < capacity) this.#count++;
  }

  /**
   * Record an entry copied from another ring (the control plane's copy of
   * a worker's ring): the same columns as {@link ResponseRing.push} fills.
   * `row` is read at index `k` of each column.
   */
  append(row: ResponseColumns, k: number, client: SocketAddress | null, server: DownstreamServerInfo | null, timeOffset: number): void {
    const capacity = this.capacity;
    if (capacity === 0) return;
    const i = this.#next;
    this.time[i] = row.time[k]! + timeOffset;
    this.seq[i] = row.seq[k]!;
    this.qname[i] = row.qname[k]!;
    this.qtype[i] = row.qtype[k]!;
    this.size[i] = row.size[k]!;
    this.id[i] = row.id[k]!;
    this.flags[i] = row.flags[k]!;
    this.ancount[i] = row.ancount[k]!;
    this.latency[i] = row.latency[k]!;
    this.transport[i] = row.transport[k]!;
    this.client[i] = client;
    this.server[i] = server;
    this.#next = i + 1 === capacity ? 0 : i + 1;
    if (this.#count < capacity) this.#count++;
  }

  /** Forget every entry and drop the references they hold. */
  clear(): void {
    this.qname.fill('');
    this.client.fill(null);
    this.server.fill(null);
    this.#next = 0;
    this.#count = 0;
  }
}
