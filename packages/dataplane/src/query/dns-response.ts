import type { DNSQuestion } from './dns-question.js';
import type { DownstreamServerInfo } from './downstream-server-info.js';

/**
 * A backend's answer (or the cache's) on its way back to the client:
 * dnsdist's DNSResponse. Response actions may rewrite `packet` in place.
 */
export class DNSResponse {
  packet: Buffer;
  length: number;
  /** The query this answers; its view still describes the query. */
  question: DNSQuestion;
  /** Backend that answered; undefined for cache hits and self-answered queries. */
  server: DownstreamServerInfo | undefined;
  /** Backend latency in microseconds (0 for cache hits). */
  latencyUsec: number;
  delayMs = 0;

  constructor(packet: Buffer, length: number, question: DNSQuestion, server: DownstreamServerInfo | undefined, latencyUsec: number) {
    this.packet = packet;
    this.length = length;
    this.question = question;
    this.server = server;
    this.latencyUsec = latencyUsec;
  }

  /** Point a reused response object at a new answer (the query path keeps one). */
  reset(packet: Buffer, length: number, question: DNSQuestion, server: DownstreamServerInfo | undefined, latencyUsec: number): this {
    this.packet = packet;
    this.length = length;
    this.question = question;
    this.server = server;
    this.latencyUsec = latencyUsec;
    this.delayMs = 0;
    return this;
  }

  /** The RCODE in the response header (low 4 bits of byte 3). */
  get rcode(): number {
    return this.packet[3]! & 0x0f;
  }

  bytes(): Buffer {
    return this.packet.subarray(0, this.length);
  }
}
