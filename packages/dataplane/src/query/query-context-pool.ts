import { DnsQueryView } from '@dnsdist-ts/dns';
import { SocketAddress } from './client-address.js';
import { DNSQuestion, type Transport } from './dns-question.js';

/** Queries up to this size use a pooled buffer; larger ones (TCP) get their own. */
const POOLED_BUFFER_SIZE = 4096;
const NOWHERE = new SocketAddress(new Uint8Array(4), 0);

/**
 * Questions (with their packet buffer and query view) are reused: making
 * them per query cost more than handling the query. A question is taken
 * when a query arrives and given back when it is answered, dropped or
 * timed out; one never given back is simply collected.
 */
export class QueryContextPool {
  readonly #free: DNSQuestion[] = [];
  readonly #max: number;

  constructor(max = 4096) {
    this.#max = max;
  }

  /** A question holding a copy of `data[0..length)`. */
  acquire(
    data: Uint8Array,
    length: number,
    remote: SocketAddress,
    local: SocketAddress,
    transport: Transport,
    receivedAt: number,
  ): DNSQuestion {
    let dq: DNSQuestion;
    if (length <= POOLED_BUFFER_SIZE) {
      dq =
        this.#free.pop() ?? new DNSQuestion(Buffer.allocUnsafeSlow(POOLED_BUFFER_SIZE), 0, new DnsQueryView(), NOWHERE, NOWHERE, 'udp', 0);
    } else {
      dq = new DNSQuestion(Buffer.allocUnsafe(length), 0, new DnsQueryView(), NOWHERE, NOWHERE, 'udp', 0);
    }
    const buf = dq.ownBuffer;
    // A byte loop beats Buffer#copy for DNS-sized packets and allocates no temporary view.
    if (length <= 512) for (let i = 0; i < length; i++) buf[i] = data[i]!;
    else buf.set(data.subarray(0, length));
    dq.reuse(length, remote, local, transport, receivedAt);
    return dq;
  }

  release(dq: DNSQuestion): void {
    if (dq.ownBuffer.length === POOLED_BUFFER_SIZE && this.#free.length < this.#max) this.#free.push(dq);
  }
}
