import type { DNSQuestion } from '../query/dns-question.js';

/**
 * Where the answer to a forwarded query goes back to: the UDP frontend that
 * received it (addressing the client from `dq.remote`) or the TCP client
 * connection. Implemented by the frontends; no per-query closure.
 */
export interface ReplyChannel {
  sendAnswer(dq: DNSQuestion, data: Buffer, length: number): void;
  /**
   * The query will get no answer (dropped, timed out): transport
   * bookkeeping only (TCP closes the client connection, as dnsdist does).
   * `lost` is true when a forwarded query got no answer from its backend
   * (timeout, dead connection) rather than being dropped by the proxy.
   */
  abandon?(dq: DNSQuestion, lost?: boolean): void;
  /**
   * The query is a zone transfer (AXFR/IXFR) over TCP: its answer may come
   * as several messages, each but the last through sendTransferPart, the
   * last through sendAnswer. Only TCP client connections implement it.
   */
  beginTransfer?(dq: DNSQuestion): void;
  sendTransferPart?(dq: DNSQuestion, data: Buffer, length: number): void;
  /**
   * Call `fn` once when the client's connection closes (at once if it is
   * closed): what belongs to it, such as a backend connection opened with a
   * proxy protocol header naming it, goes too. Stream transports only.
   */
  onClose?(fn: () => void): void;
}

/**
 * Bookkeeping of one query sent to a backend, kept until its answer or its timeout.
 *
 * A backend preallocates 65,536 of these. The number fields that will hold
 * non-integers (a time) or integers past V8's small-integer range (a 32-bit
 * hash) start as such numbers: a field that starts as a small integer and
 * later gets a double changes the class's hidden class, and every slot made
 * before then is migrated on its first use through V8's slow path (seen in a
 * two-worker profile as `sendUdp` missing its inline caches, with a map
 * migration per query, through its first 65,536 queries).
 */
export class InflightQuery {
  inUse = false;
  /** The client's query ID, restored in the answer. */
  origId = 0;
  /** performance.now() when sent, for latency and timeouts; -Infinity while never sent. */
  sentAt = Number.NEGATIVE_INFINITY;
  dq: DNSQuestion | undefined;
  reply: ReplyChannel | undefined;
  /**
   * Packet-cache key computed at query time (0 when the pool has no cache).
   * Starts as -0, which equals 0 but is stored as a double, as keys of 2^30 and more are.
   */
  cacheKey = -0;

  release(): void {
    this.inUse = false;
    this.dq = undefined;
    this.reply = undefined;
  }
}
