import net from 'node:net';
import tls from 'node:tls';
import { formatAddress } from '@dnsdist-ts/dns';
import { NativeBackendStream } from '../io/native-backend-stream.js';
import { nativeTcpStreamsAvailable } from '../io/native-tcp-stream.js';
import { connectWithFastOpen } from '../io/tcp-fast-open-connect.js';
import { SocketAddress } from '../query/client-address.js';
import type { DNSQuestion } from '../query/dns-question.js';
import type { TlsClientContext } from '../tls/tls-client-context.js';
import type { ReplyChannel } from './inflight-query.js';
import type { AnswerHandler, LostHandler, PendingQuery, StreamBackendOwner, XfrHandler } from './stream-backend-owner.js';
import { XfrProgress } from './xfr-progress.js';

/** What TCP connections need of their backend. */
export interface TcpBackendOwner extends StreamBackendOwner {
  readonly config: {
    address: { bytes: Uint8Array; port: number };
    maxInFlight: number;
    tls?: TlsClientContext | undefined;
    retries?: number;
    tcpFastOpen?: boolean;
  };
}

interface Pending extends PendingQuery {
  /** A zone transfer (AXFR/IXFR from a TCP client): its answer may come in several messages. */
  xfr: XfrProgress | undefined;
}

/**
 * Times a query whose connection dies before its answer is sent again, each
 * time on a new connection. A reused connection can always have been closed
 * by the backend (idle timeout, one query per connection) while the query
 * was on its way: that must not cost the client its answer.
 */
const MAX_RETRIES = 1;

/** A query that must not be sent again (its answer began, or did not match): above any retry limit. */
const NO_MORE_RETRIES = Number.MAX_SAFE_INTEGER;

/** Bytes one read from a backend connection may return (the shared read buffer's size). */
const READ_BUFFER_SIZE = 65536;

/** What a backend connection writes to and closes: a node:net/TLS socket, or one of the addon's TCP streams. */
export interface BackendStream {
  /** Bytes as they are (a proxy protocol header). */
  write(frame: Buffer): void;
  /** The first `length` bytes of `packet` as one length-prefixed message, its ID replaced by `id`. */
  writeQuery(packet: Buffer, length: number, id: number): void;
  /** Close now; no event of the stream follows. */
  destroy(): void;
}

/** A node:net or TLS socket: frames written during one turn of the event loop leave together. */
class NetBackendStream implements BackendStream {
  #corked = false;

  constructor(readonly socket: net.Socket) {}

  write(frame: Buffer): void {
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    this.socket.write(frame);
  }

  writeQuery(packet: Buffer, length: number, id: number): void {
    // node:net keeps the buffer until it is sent: each query gets its own.
    const frame = Buffer.allocUnsafe(length + 2);
    frame.writeUInt16BE(length, 0);
    packet.copy(frame, 2, 0, length);
    frame.writeUInt16BE(id, 2);
    this.write(frame);
  }

  uncork(): void {
    this.#corked = false;
    this.socket.uncork();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function uncork(stream: NetBackendStream): void {
  stream.uncork();
}

/** One TCP connection to the backend, with its own ID space for pipelined queries. */
export class BackendConnection {
  stream!: BackendStream;
  readonly pending = new Map<number, Pending>();
  #nextId = 0;
  /** The start of a message whose end has not arrived yet (copied out of the shared read buffer). */
  rest: Buffer | undefined;
  connected = false;
  dead = false;
  /** Queries sent on it, and when it was opened: dnsdist's per-connection averages. */
  queries = 0;
  readonly openedAt = performance.now();

  allocateId(): number {
    for (let i = 0; i < 65536; i++) {
      const id = this.#nextId;
      this.#nextId = (id + 1) & 0xffff;
      if (!this.pending.has(id)) return id;
    }
    return -1;
  }
}

/**
 * The TCP connections to one backend and what every one of them does alike:
 * connecting (plain, TLS, Fast Open), framing, pipelined IDs, answers and
 * zone transfers, a dead connection's queries sent again on a new one, read
 * timeouts. As in dnsdist, a backend is not assumed to answer out of order:
 * a connection carries one query at a time unless `newServer{maxInFlight=N}`
 * allows N. Which connection a query goes on, and what becomes of one with
 * nothing left to carry, is the subclass's: the shared pool
 * (TcpBackendPool) or one client's connections (ProxiedTcpConnections).
 */
export abstract class BackendTcpConnections<C extends BackendConnection> {
  protected readonly owner: TcpBackendOwner;
  readonly #onAnswer: AnswerHandler;
  readonly #onLost: LostHandler;
  readonly #onXfr: XfrHandler;
  #connections: C[] = [];
  #closed = false;
  readonly #readBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);

  constructor(owner: TcpBackendOwner, onAnswer: AnswerHandler, onLost: LostHandler, onXfr: XfrHandler) {
    this.owner = owner;
    this.#onAnswer = onAnswer;
    this.#onLost = onLost;
    this.#onXfr = onXfr;
  }

  get connectionCount(): number {
    return this.#connections.length;
  }

  /** The live connections (a dead or dying one is out of it). */
  protected get connections(): readonly C[] {
    return this.#connections;
  }

  /** The connection a query goes on (counting a reused one), or undefined when it cannot be sent at all. */
  protected abstract pick(dq: DNSQuestion, reply: ReplyChannel): C | undefined;

  /** A new connection to carry again a query of `dead`, which died before its answer. */
  protected abstract replace(dead: C): C;

  /** `conn` is live and has nothing pending any more. */
  protected abstract wentIdle(conn: C): void;

  /** `conn` is out (dead, timed out, closed): take it out of the subclass's own lists. */
  protected abstract forget(conn: C): void;

  /** Queries one connection may carry at once: newServer's maxInFlight, 0 meaning one. */
  protected limit(): number {
    const m = this.owner.config.maxInFlight;
    return m > 1 ? m : 1;
  }

  /** newServer{retries=N}: N attempts in all per query; without it, MAX_RETRIES more after the first. */
  #maxRetries(): number {
    const attempts = this.owner.config.retries;
    return attempts === undefined ? MAX_RETRIES : Math.max(0, attempts - 1);
  }

  /** Take a connection out, accounting dnsdist's per-connection averages. */
  protected retire(conn: C): void {
    conn.dead = true;
    const open = this.#connections.length;
    this.#connections = this.#connections.filter((c) => c !== conn);
    this.forget(conn);
    const c = this.owner.counters;
    c.tcpCurrentConnections -= open - this.#connections.length;
    c.tcpAvgQueriesPerConnection = (99 * c.tcpAvgQueriesPerConnection) / 100 + conn.queries / 100;
    c.tcpAvgConnectionDuration = (99 * c.tcpAvgConnectionDuration) / 100 + (performance.now() - conn.openedAt) / 100;
  }

  /** Connect `conn`; `preface` is written before any query (a proxy protocol header). */
  protected connect(conn: C, preface?: Buffer): C {
    const { bytes, port } = this.owner.config.address;
    // Plain TCP goes over the addon's streams when it is built: no node:net objects or events per query.
    if (this.owner.config.tls === undefined && this.owner.config.tcpFastOpen !== true && nativeTcpStreamsAvailable()) {
      conn.stream = new NativeBackendStream(bytes, port, this.#readBuffer, {
        data: (n) => this.#onRead(conn, n),
        connected: () => {
          conn.connected = true;
        },
        closed: () => this.#fail(conn),
      });
      this.#opened(conn);
      if (preface !== undefined) conn.stream.write(preface);
      return conn;
    }
    // Reads land in one buffer shared by the connections (onread):
    // no buffer allocated per read and no stream 'data' event, which is
    // most of what a TCP answer costs in Node. Messages are copied out
    // before the callback returns.
    const onread = { buffer: this.#readBuffer, callback: (n: number) => this.#onRead(conn, n) };
    const tlsCtx = this.owner.config.tls;
    const host = formatAddress(bytes);
    // Node reads TLS connections into `onread` too (tls.connect documents it; its types do not).
    // A proxied connection (with a preface) stays plain TCP: dnsdist opens those with Fast Open too, not done here yet.
    const fastOpen = this.owner.config.tcpFastOpen === true && preface === undefined;
    const family = bytes.length === 4 ? 4 : 6;
    // With Fast Open, TLS runs over the natively made socket: its ClientHello is the first write, so it rides on the SYN.
    const socket = tlsCtx
      ? tls.connect({
          ...tlsCtx.connectOptions(host),
          port,
          onread,
          ...(fastOpen ? { socket: connectWithFastOpen({ host, port, family }) } : {}),
        } as tls.ConnectionOptions)
      : fastOpen
        ? connectWithFastOpen({ host, port, family, onread })
        : net.connect({ host, port, onread });
    // Node gives no onread to a TLS socket made over an existing one: its reads come as 'data' chunks.
    if (tlsCtx && fastOpen) socket.on('data', (chunk: Buffer) => this.#onRead(conn, chunk.length, chunk));
    socket.setNoDelay(true);
    conn.stream = new NetBackendStream(socket);
    this.#opened(conn);
    if (preface !== undefined) socket.write(preface);
    const fail = (): void => this.#fail(conn);
    if (tlsCtx) {
      const tlsSocket = socket as tls.TLSSocket;
      tlsSocket.on('secureConnect', () => {
        conn.connected = true;
        if (tlsSocket.isSessionReused()) this.owner.counters.tlsResumptions++;
      });
      tlsSocket.on('session', (session: Buffer) => tlsCtx.rememberSession(session));
      // Fails closed: a certificate that does not check out ends the connection, and the log says why.
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (!conn.connected) {
          this.owner.connectionFailed?.(
            `Error connecting to TLS backend ${new SocketAddress(bytes, port).toStringWithPort()}: ${tlsCtx.describeFailure(err)}`,
          );
        }
        fail();
      });
    } else {
      socket.on('connect', () => {
        conn.connected = true;
      });
      socket.on('error', fail);
    }
    // The backend closed its side: no answer can come on this connection any more, so it takes no
    // new query, and the ones it still holds go out again on a new one (Node would only report
    // 'close' once our side is shut down too, a window in which a query could be lost on it).
    socket.on('end', fail);
    socket.on('close', fail);
    return conn;
  }

  /** Count a new connection and list it. */
  #opened(conn: C): void {
    const counters = this.owner.counters;
    counters.tcpNewConnections++;
    counters.tcpCurrentConnections++;
    this.#connections.push(conn);
    if (this.#connections.length > counters.tcpMaxConcurrentConnections) counters.tcpMaxConcurrentConnections = this.#connections.length;
  }

  /** Split what a read brought into `src` (the shared read buffer unless said), after what an earlier read left, into length-prefixed messages. */
  #onRead(conn: C, n: number, src: Buffer = this.#readBuffer): boolean {
    let buf = src;
    let end = n;
    if (conn.rest !== undefined) {
      buf = Buffer.concat([conn.rest, buf.subarray(0, n)]);
      end = buf.length;
      conn.rest = undefined;
    }
    let off = 0;
    while (end - off >= 2 && !conn.dead) {
      const len = buf.readUInt16BE(off);
      if (end - off < 2 + len) break;
      this.#onMessage(conn, buf, off + 2, len);
      off += 2 + len;
    }
    if (off < end && !conn.dead) conn.rest = Buffer.from(buf.subarray(off, end));
    return true;
  }

  #onMessage(conn: C, buf: Buffer, start: number, length: number): void {
    if (length < 12) return;
    const id = buf.readUInt16BE(start);
    const p = conn.pending.get(id);
    if (p === undefined) return;
    // The answer is handed on as its own buffer: the read buffer is reused by the next read.
    const data = Buffer.allocUnsafe(length);
    buf.copy(data, 0, start, start + length);
    if (p.xfr !== undefined) return this.#onXfrMessage(conn, id, p, p.xfr, data, length);
    if (!this.owner.answerMatches(data, length, p.dq)) {
      // Not an answer to that question: keep waiting for the real one. But the backend did answer
      // it, with something unusable: sending it again would only repeat that, so it is not retried
      // if this connection dies (as dnsdist gives up on a query whose answer did not match).
      p.retries = NO_MORE_RETRIES;
      return;
    }
    conn.pending.delete(id);
    if (conn.pending.size === 0 && !conn.dead) this.wentIdle(conn);
    data.writeUInt16BE(p.origId, 0);
    const latencyUsec = (performance.now() - p.sentAt) * 1000;
    this.owner.answered(latencyUsec);
    this.owner.tcpQueryFailed(); // outstanding--, the query is done
    this.#onAnswer(p.dq, p.reply, p.cacheKey, latencyUsec, data, length);
  }

  /**
   * One message of a zone transfer: passed on as it is (its ID restored),
   * with no question check, response rule or cache (as dnsdist 1.7.3 treats
   * XFR answers), until the message that ends the transfer.
   */
  #onXfrMessage(conn: C, id: number, p: Pending, xfr: XfrProgress, data: Buffer, length: number): void {
    data.writeUInt16BE(p.origId, 0);
    const last = xfr.onMessage(data, length);
    // The client already has part of the transfer: it cannot be sent again on another connection.
    p.retries = NO_MORE_RETRIES;
    const now = performance.now();
    if (last) {
      conn.pending.delete(id);
      if (conn.pending.size === 0 && !conn.dead) this.wentIdle(conn);
      this.owner.answered((now - p.sentAt) * 1000);
      this.owner.tcpQueryFailed(); // outstanding--, the transfer is done
    } else {
      // The read timeout runs between messages, not over the whole transfer.
      p.sentAt = now;
    }
    this.#onXfr(p.dq, p.reply, data, length, last);
  }

  /**
   * The connection died (error, reset, or closed by the backend). Each query
   * it still held is sent again on a new connection, once; after that it is
   * lost (the client's TCP connection is closed, as dnsdist does).
   */
  #fail(conn: C): void {
    if (conn.dead) return;
    this.retire(conn);
    const pending = [...conn.pending.values()];
    conn.pending.clear();
    conn.stream.destroy();
    const counters = this.owner.counters;
    let fresh: C | undefined;
    for (const p of pending) {
      if (conn.connected) counters.tcpDiedReadingResponse++;
      else counters.tcpDiedSendingQuery++;
      if (p.retries < this.#maxRetries() && !this.#closed) {
        // All of them on one new connection while it has room: a reused one may be the next to be closed by the backend.
        if (fresh === undefined || fresh.dead || fresh.pending.size >= this.limit()) fresh = this.replace(conn);
        p.retries++;
        this.#write(fresh, p);
        continue;
      }
      counters.tcpGaveUp++;
      this.#lose(p);
    }
  }

  #lose(p: Pending): void {
    this.owner.counters.drops++;
    this.owner.tcpQueryFailed();
    this.#onLost(p.dq, p.reply);
  }

  /**
   * Close `conn` now, with every query it still carries lost (counted in
   * tcpReadTimeouts on a read timeout, else in tcpGaveUp); how many.
   */
  protected closeLosing(conn: C, timedOut: boolean): number {
    this.retire(conn);
    conn.stream.destroy();
    const pending = [...conn.pending.values()];
    conn.pending.clear();
    const counters = this.owner.counters;
    for (const p of pending) {
      if (timedOut) counters.tcpReadTimeouts++;
      else counters.tcpGaveUp++;
      this.#lose(p);
    }
    return pending.length;
  }

  /** Send a query; `xfr` when it is a zone transfer whose messages go to `reply` one by one. */
  send(dq: DNSQuestion, reply: ReplyChannel, cacheKey: number, xfr = false): void {
    const conn = this.#closed ? undefined : this.pick(dq, reply);
    if (conn === undefined) {
      this.owner.counters.tcpGaveUp++;
      this.owner.tcpQueryFailed();
      this.#onLost(dq, reply);
      return;
    }
    const p: Pending = {
      origId: dq.view.id,
      dq,
      reply,
      cacheKey,
      sentAt: performance.now(),
      retries: 0,
      xfr: xfr ? new XfrProgress() : undefined,
    };
    this.#write(conn, p);
  }

  #write(conn: C, p: Pending): void {
    const id = conn.allocateId();
    const dq = p.dq;
    conn.queries++;
    conn.pending.set(id, p);
    conn.stream.writeQuery(dq.packet, dq.length, id);
  }

  /**
   * Fail queries waiting longer than `timeoutMs`. The connection of such a
   * query is closed with every query it still carries (as dnsdist does on a
   * backend read timeout): a backend that answers one query at a time may
   * still be busy with it, and its late answer must not meet a new query.
   */
  expireTimeouts(now: number, timeoutMs: number): number {
    let n = 0;
    for (const conn of this.#connections) {
      for (const p of conn.pending.values()) {
        if (now - p.sentAt > timeoutMs) {
          n += this.closeLosing(conn, true);
          break;
        }
      }
    }
    return n;
  }

  /** Close every connection; queries sent from now on are given up. */
  close(): void {
    this.#closed = true;
    for (const c of this.#connections) c.stream.destroy();
    this.owner.counters.tcpCurrentConnections -= this.#connections.length;
    this.#connections = [];
  }
}
