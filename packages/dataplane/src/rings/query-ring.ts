import type { SocketAddress } from '../query/client-address.js';
import type { DNSQuestion } from '../query/dns-question.js';
import { transportCode } from './ring-transport.js';

/** The plain columns of query entries, as a copy of a ring sends them. */
export interface QueryColumns {
  readonly time: ArrayLike<number>;
  readonly seq: ArrayLike<number>;
  readonly qname: readonly string[];
  readonly qtype: ArrayLike<number>;
  readonly size: ArrayLike<number>;
  readonly flags: ArrayLike<number>;
  readonly id: ArrayLike<number>;
  readonly transport: ArrayLike<number>;
}

/**
 * One shard of the query ring buffer: a fixed-size circular buffer of the
 * latest queries, stored column by column so that inserting a query writes
 * a few preallocated slots and allocates nothing.
 *
 * The columns are public for the analyses, which read them directly;
 * treat them as read-only. Slot `i` of every column describes the same
 * query; use {@link QueryRing.slot} to walk entries oldest first.
 */
export class QueryRing {
  /** Number of slots; 0 makes a ring that records nothing. */
  readonly capacity: number;
  /** Receive time, milliseconds on the performance.now() clock. */
  readonly time: Float64Array;
  /** Insertion sequence number, shared with the response ring: a total order across shards. */
  readonly seq: Float64Array;
  /** Query name as the query view gives it (presentation form, trailing dot). */
  readonly qname: string[];
  readonly qtype: Uint16Array;
  /** Query size in bytes. */
  readonly size: Uint32Array;
  /** The 16-bit header word after the ID (QR, OPCODE, AA, TC, RD, RA, Z, AD, CD, RCODE). */
  readonly flags: Uint16Array;
  /** DNS message ID. */
  readonly id: Uint16Array;
  /** {@link RingTransport} code. */
  readonly transport: Uint8Array;
  /** The client, by reference: its address, port and cached text serve every analysis. */
  readonly client: (SocketAddress | null)[];
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
    this.transport = new Uint8Array(capacity);
    this.client = new Array<SocketAddress | null>(capacity).fill(null);
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

  /** Record `dq`, overwriting the oldest entry when full. `seq` orders it among all ring entries. */
  push(dq: DNSQuestion, seq: number): void {
    const capacity = this.capacity;
    if (capacity === 0) return;
    const i = this.#next;
    const view = dq.view;
    const packet = dq.packet;
    this.time[i] = dq.receivedAt;
    this.seq[i] = seq;
    this.qname[i] = view.qname;
    this.qtype[i] = view.qtype;
    this.size[i] = dq.length;
    this.flags[i] = view.flags;
    this.id[i] = (packet[0]! << 8) | packet[1]!;
    this.transport[i] = transportCode(dq.transport);
    this.client[i] = dq.remote;
    this.#next = i + 1 === capacity ? 0 : i + 1;
    if (this.#count < capacity) this.#count++;
  }

  /**
   * Record an entry copied from another ring (the control plane's copy of
   * a worker's ring): the same columns as {@link QueryRing.push} fills.
   * `row` is read at index `k` of each column.
   */
  append(row: QueryColumns, k: number, client: SocketAddress | null, timeOffset: number): void {
    const capacity = this.capacity;
    if (capacity === 0) return;
    const i = this.#next;
    this.time[i] = row.time[k]! + timeOffset;
    this.seq[i] = row.seq[k]!;
    this.qname[i] = row.qname[k]!;
    this.qtype[i] = row.qtype[k]!;
    this.size[i] = row.size[k]!;
    this.flags[i] = row.flags[k]!;
    this.id[i] = row.id[k]!;
    this.transport[i] = row.transport[k]!;
    this.client[i] = client;
    this.#next = i + 1 === capacity ? 0 : i + 1;
    if (this.#count < capacity) this.#count++;
  }

  /** Forget every entry and drop the references they hold. */
  clear(): void {
    this.qname.fill('');
    this.client.fill(null);
    this.#next = 0;
    this.#count = 0;
  }
}
