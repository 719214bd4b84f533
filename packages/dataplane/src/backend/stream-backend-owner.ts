import type { DNSQuestion } from '../query/dns-question.js';
import type { ReplyChannel } from './inflight-query.js';

/**
 * What a backend's stream connections (TCP, TLS, DoH) account on it and ask
 * of it, whichever kind they are: dnsdist keeps one set of TCP counters per
 * backend for all of them.
 */
export interface StreamBackendOwner {
  readonly counters: {
    tlsResumptions: number;
    tcpNewConnections: number;
    tcpReusedConnections: number;
    tcpMaxConcurrentConnections: number;
    /** Open now (a gauge: with data-plane workers, the sum of every worker's). */
    tcpCurrentConnections: number;
    tcpAvgQueriesPerConnection: number;
    tcpAvgConnectionDuration: number;
    tcpDiedSendingQuery: number;
    tcpDiedReadingResponse: number;
    tcpGaveUp: number;
    tcpReadTimeouts: number;
    drops: number;
  };
  answered(latencyUsec: number): void;
  /** A query is done (answered or lost): the backend's outstanding count goes down. */
  tcpQueryFailed(): void;
  answerMatches(data: Buffer, length: number, dq: DNSQuestion): boolean;
  /** A connection could not be set up (TLS: the handshake or the certificate check failed): why, for the log. */
  connectionFailed?(reason: string): void;
}

type StreamAnswer = [dq: DNSQuestion, reply: ReplyChannel, cacheKey: number, latencyUsec: number, data: Buffer, length: number];

/** The answer to a query, its ID restored. */
export type AnswerHandler = (...answer: StreamAnswer) => void;

/** A query that will get no answer. */
export type LostHandler = (dq: DNSQuestion, reply: ReplyChannel) => void;

/** One message of a zone transfer's answer; `last` when it ends the transfer. */
export type XfrHandler = (dq: DNSQuestion, reply: ReplyChannel, data: Buffer, length: number, last: boolean) => void;

/** A query sent on a stream connection, waiting for its answer. */
export interface PendingQuery {
  /** The client's ID, put back into the answer (the connection gives the query an ID of its own). */
  origId: number;
  dq: DNSQuestion;
  reply: ReplyChannel;
  cacheKey: number;
  sentAt: number;
  /** Times it was sent again after its connection (or DoH stream) died; dnsdist retries a query on a new connection. */
  retries: number;
}
