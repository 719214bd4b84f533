/**
 * Outgoing DNS over HTTPS (dnsdist 1.7's `newServer{dohPath=…}`): every
 * query to the backend, whatever transport the client used, is an HTTP/2
 * POST of the wire message (RFC 8484) on a connection shared by many
 * queries at once, as dnsdist's DoH client does:
 *
 * - a query goes on a busy connection with room for another stream (the
 *   backend's SETTINGS_MAX_CONCURRENT_STREAMS), else on an idle one, else on
 *   a new one (tcpReusedConnections / tcpNewConnections);
 * - a connection that goes idle is kept, up to setMaxIdleDoHConnectionsPerDownstream,
 *   and closed once idle for setDoHDownstreamMaxIdleTime (looked at every
 *   setDoHDownstreamCleanupInterval seconds);
 * - an answer other than status 200, or a body that is not an answer to the
 *   query, costs the query (no answer to the client), not the connection;
 * - with useProxyProtocol, each query gets a connection of its own opening
 *   with the client's header (inside TLS, before the HTTP/2 preface),
 *   closed after the answer;
 * - the certificate check fails closed and the log says why.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { formatAddress, formatAddressWithPort, type IpAddressWithPort } from '@dnsdist-ts/dns';
import type { DNSQuestion } from '../query/dns-question.js';
import type { TlsClientContext } from '../tls/tls-client-context.js';
import type { DohClientTuning } from './doh-client-tuning.js';
import type { ReplyChannel } from './inflight-query.js';
import { makeQueryProxyHeader } from './proxy-protocol-payload.js';
import type { AnswerHandler, LostHandler, PendingQuery, StreamBackendOwner, XfrHandler } from './stream-backend-owner.js';

/** newServer's DoH options. */
export interface DohBackendSettings {
  /** dohPath: the HTTP path queries are POSTed to. */
  path: string;
  /** addXForwardedHeaders: X-Forwarded-For/-Port/-Proto naming the client on every query. */
  addXForwardedHeaders: boolean;
}

/** What the pool needs of its backend. */
export interface DohPoolOwner extends StreamBackendOwner {
  readonly config: {
    address: IpAddressWithPort;
    tls?: TlsClientContext | undefined;
    doh?: DohBackendSettings | undefined;
    useProxyProtocol?: boolean | undefined;
    retries?: number | undefined;
  };
}

/** dnsdist's user-agent names its HTTP/2 library; ours names the project. */
export const DOH_CLIENT_USER_AGENT = 'dnsdist-ts';
/** HTTP/2 stream IDs are 31 bits; client streams are odd. A connection near the end takes no new query. */
const LAST_STREAM_ID = 2 ** 31 - 1;
/** dnsdist's receive window for its DoH client sessions. */
const INITIAL_WINDOW_SIZE = 16 * 1024 * 1024;
/** A DNS message is at most 65,535 bytes: a longer body is not an answer. */
const MAX_BODY = 65535;

interface Pending extends PendingQuery {
  xfr: boolean;
}

/** One HTTP/2 session to the backend. */
class DohConnection {
  readonly session: http2.ClientHttp2Session;
  readonly socket: net.Socket;
  /** Queries waiting for their answer on it. */
  readonly pending = new Set<Pending>();
  /** Made for one proxied query (or a health check): never shared, closed after its answer. */
  readonly single: boolean;
  readonly openedAt = performance.now();
  /** When it last went idle (performance.now()). */
  idleSince = 0;
  queries = 0;
  secured = false;
  dead = false;

  constructor(session: http2.ClientHttp2Session, socket: net.Socket, single: boolean) {
    this.session = session;
    this.socket = socket;
    this.single = single;
  }

  /** Can it take one more stream? */
  hasRoom(): boolean {
    if (this.dead || this.session.destroyed || this.session.closed) return false;
    const next = this.session.state.nextStreamID;
    if (next !== undefined && next >= LAST_STREAM_ID) return false;
    const max = this.session.remoteSettings.maxConcurrentStreams;
    return max === undefined || this.pending.size < max;
  }
}

/** The x-forwarded-proto of a query: how the client reached us (dnsdist's names). */
export function forwardedProto(dq: DNSQuestion): string {
  if (dq.http !== undefined) return dq.http.overTls ? 'dns-over-https' : 'dns-over-http';
  if (dq.transport === 'udp') return 'dns-over-udp';
  return dq.session !== undefined ? 'dns-over-tls' : 'dns-over-tcp';
}

/** Open an HTTP/2 session to a DoH backend; `preface` goes first on the connection (a proxy protocol header). */
export function connectDoh(
  address: IpAddressWithPort,
  tlsCtx: TlsClientContext | undefined,
  preface: Buffer | undefined,
): { session: http2.ClientHttp2Session; socket: net.Socket } {
  const host = formatAddress(address.bytes);
  const port = address.port;
  const socket =
    tlsCtx !== undefined ? tls.connect({ ...tlsCtx.connectOptions(host), port, ALPNProtocols: ['h2'] }) : net.connect({ host, port });
  socket.setNoDelay(true);
  const authority = `${tlsCtx !== undefined ? 'https' : 'http'}://${formatAddressWithPort(address)}`;
  // Node's HTTP/2 session writes straight into a socket it is given, and aborts the process when
  // anything else wrote to it: a connection that opens with other bytes goes through a stream of
  // ours that writes them first (queued by the socket until it is connected) and then relays.
  const transport = preface === undefined ? socket : prefixedStream(socket, preface);
  const session = http2.connect(authority, {
    createConnection: () => transport,
    settings: { enablePush: false, initialWindowSize: INITIAL_WINDOW_SIZE },
  });
  return { session, socket };
}

/** A duplex over `socket` whose first bytes out are `preface`. */
function prefixedStream(socket: net.Socket, preface: Buffer): Duplex {
  socket.write(preface);
  const relay: Duplex = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    read() {
      socket.resume();
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!relay.push(chunk)) socket.pause();
  });
  socket.on('end', () => relay.push(null));
  socket.on('error', (err) => relay.destroy(err));
  socket.on('close', () => relay.destroy());
  return relay;
}

/** The request headers of a DoH query (RFC 8484 POST), with X-Forwarded-* when asked for and there is a client. */
export function dohRequestHeaders(
  authority: string,
  path: string,
  length: number,
  scheme: string,
  forwardedFor: DNSQuestion | undefined,
): http2.OutgoingHttpHeaders {
  const h: http2.OutgoingHttpHeaders = {
    ':method': 'POST',
    ':scheme': scheme,
    ':authority': authority,
    ':path': path,
    accept: 'application/dns-message',
    'content-type': 'application/dns-message',
    'user-agent': DOH_CLIENT_USER_AGENT,
    'content-length': String(length),
  };
  if (forwardedFor !== undefined && forwardedFor.remote.port !== 0) {
    h['x-forwarded-for'] = forwardedFor.remote.address;
    h['x-forwarded-port'] = String(forwardedFor.remote.port);
    h['x-forwarded-proto'] = forwardedProto(forwardedFor);
  }
  return h;
}

/** The :authority of a backend's requests: its subjectName, else its address. */
export function dohAuthority(owner: DohPoolOwner['config']): string {
  const name = owner.tls?.settings.subjectName ?? '';
  return name !== '' ? name : formatAddressWithPort(owner.address);
}

export class DohBackendPool {
  readonly #owner: DohPoolOwner;
  readonly #tuning: DohClientTuning;
  readonly #onAnswer: AnswerHandler;
  readonly #onLost: LostHandler;
  readonly #onXfr: XfrHandler;
  /** Shared connections: busy and idle ones. */
  #connections: DohConnection[] = [];
  /** Connections made for one query each (proxy protocol). */
  readonly #singles = new Set<DohConnection>();
  #closed = false;
  #lastCleanup = performance.now();

  constructor(owner: DohPoolOwner, tuning: DohClientTuning, onAnswer: AnswerHandler, onLost: LostHandler, onXfr: XfrHandler) {
    this.#owner = owner;
    this.#tuning = tuning;
    this.#onAnswer = onAnswer;
    this.#onLost = onLost;
    this.#onXfr = onXfr;
  }

  /** Open connections (shared and single-query ones). */
  get connectionCount(): number {
    return this.#connections.length + this.#singles.size;
  }

  /** Idle shared connections. */
  get idleCount(): number {
    let n = 0;
    for (const c of this.#connections) if (c.pending.size === 0) n++;
    return n;
  }

  send(dq: DNSQuestion, reply: ReplyChannel, cacheKey: number, xfr = false): void {
    const p: Pending = { origId: dq.view.id, dq, reply, cacheKey, sentAt: performance.now(), xfr, retries: 0 };
    if (this.#closed) return this.#lose(p, 'gaveUp');
    const conn = this.#connectionFor(dq);
    // No header can say where an IPv6 client reached an IPv4 address (or the reverse): dropped, as dnsdist does.
    if (conn === undefined) return this.#lose(p, 'gaveUp');
    this.#request(conn, p);
  }

  /** With useProxyProtocol, a new connection opening with the client's header; else a shared one. */
  #connectionFor(dq: DNSQuestion): DohConnection | undefined {
    if (this.#owner.config.useProxyProtocol !== true) return this.#pick();
    const header = makeQueryProxyHeader(dq, dq.transport !== 'udp');
    return header === undefined ? undefined : this.#open(header, true);
  }

  /** newServer{retries=N}: N attempts in all; without it, one more after the first (as the TCP pool). */
  #maxRetries(): number {
    const attempts = this.#owner.config.retries;
    return attempts === undefined ? 1 : Math.max(0, attempts - 1);
  }

  #pick(): DohConnection {
    const counters = this.#owner.counters;
    // A busy connection with room first (HTTP/2 multiplexes), the busiest, so queries pack onto few connections.
    let best: DohConnection | undefined;
    let idle: DohConnection | undefined;
    for (const c of this.#connections) {
      if (!c.hasRoom()) continue;
      if (c.pending.size === 0) {
        if (idle === undefined || c.idleSince > idle.idleSince) idle = c;
      } else if (best === undefined || c.pending.size > best.pending.size) best = c;
    }
    const reused = best ?? idle;
    if (reused !== undefined) {
      counters.tcpReusedConnections++;
      return reused;
    }
    return this.#open(undefined, false);
  }

  #open(preface: Buffer | undefined, single: boolean): DohConnection {
    const owner = this.#owner;
    const { session, socket } = connectDoh(owner.config.address, owner.config.tls, preface);
    const conn = new DohConnection(session, socket, single);
    const counters = owner.counters;
    counters.tcpNewConnections++;
    counters.tcpCurrentConnections++;
    if (single) this.#singles.add(conn);
    else this.#connections.push(conn);
    if (this.connectionCount > counters.tcpMaxConcurrentConnections) counters.tcpMaxConcurrentConnections = this.connectionCount;
    const tlsCtx = owner.config.tls;
    if (tlsCtx !== undefined) {
      const tlsSocket = socket as tls.TLSSocket;
      tlsSocket.once('secureConnect', () => {
        conn.secured = true;
        if (tlsSocket.isSessionReused()) counters.tlsResumptions++;
      });
      tlsSocket.on('session', (s: Buffer) => tlsCtx.rememberSession(s));
    } else socket.once('connect', () => (conn.secured = true));
    session.on('error', (err: NodeJS.ErrnoException) => {
      if (!conn.secured && tlsCtx !== undefined) {
        // Fails closed: the connection ends, its queries are lost, and the log says why.
        owner.connectionFailed?.(
          `Error connecting to DoH backend ${formatAddressWithPort(owner.config.address)}: ${tlsCtx.describeFailure(err)}`,
        );
      }
      this.#fail(conn);
    });
    session.on('goaway', () => {
      // The backend takes no new stream on it; the ones it holds may still finish.
      conn.dead = true;
    });
    session.on('close', () => this.#fail(conn));
    return conn;
  }

  #request(conn: DohConnection, p: Pending): void {
    const owner = this.#owner;
    const dq = p.dq;
    conn.queries++;
    conn.pending.add(p);
    const doh = owner.config.doh!;
    const headers = dohRequestHeaders(
      dohAuthority(owner.config),
      doh.path,
      dq.length,
      owner.config.tls !== undefined ? 'https' : 'http',
      doh.addXForwardedHeaders ? dq : undefined,
    );
    let stream: http2.ClientHttp2Stream;
    try {
      stream = conn.session.request(headers, { endStream: false });
    } catch {
      // The session ended between the pick and now (Node throws on a destroyed or closing session).
      conn.pending.delete(p);
      owner.counters.tcpDiedSendingQuery++;
      this.#retireIfDone(conn);
      return this.#lose(p, 'died');
    }
    // The packet buffer belongs to the query path, reused once this returns: the body is a copy.
    stream.end(Buffer.from(dq.packet.subarray(0, dq.length)));
    let status = 0;
    let body: Buffer[] | undefined;
    let size = 0;
    let finished = false;
    stream.on('response', (h) => {
      status = Number(h[':status']);
    });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        finished = true;
        owner.counters.tcpDiedReadingResponse++;
        stream.close(http2.constants.NGHTTP2_CANCEL);
        conn.pending.delete(p);
        this.#retireIfDone(conn);
        this.#lose(p, 'failed');
        return;
      }
      (body ??= []).push(chunk);
    });
    stream.on('end', () => {
      if (finished) return;
      finished = true;
      conn.pending.delete(p);
      this.#complete(p, status, body, size);
      this.#retireIfDone(conn);
    });
    // Reset by the backend, or the session failed (the stream may hear of it before the session does),
    // or closed without an end (RST_STREAM with NO_ERROR, the session going away).
    const failed = (): void => {
      if (finished) return;
      finished = true;
      if (!conn.pending.delete(p)) return;
      if (conn.secured) owner.counters.tcpDiedReadingResponse++;
      else owner.counters.tcpDiedSendingQuery++;
      const reset = stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR && !conn.session.destroyed;
      // As dnsdist: a stream the backend reset with an error marks its connection as not to be used
      // again, and the query goes again on another connection while it has attempts left.
      if (reset) conn.dead = true;
      this.#retireIfDone(conn);
      if (reset && p.retries < this.#maxRetries() && !this.#closed) {
        p.retries++;
        this.#request(this.#connectionFor(p.dq)!, p);
        return;
      }
      this.#lose(p, 'failed');
    };
    stream.on('error', failed);
    stream.on('close', failed);
  }

  /** A whole HTTP answer: a 200 with a DNS answer to the query goes to the client; anything else costs the query. */
  #complete(p: Pending, status: number, body: Buffer[] | undefined, size: number): void {
    const owner = this.#owner;
    if (status !== 200 || body === undefined) return this.#lose(p, 'failed');
    const data = body.length === 1 ? body[0]! : Buffer.concat(body, size);
    if (size < 12 || (!p.xfr && !owner.answerMatches(data, size, p.dq))) return this.#lose(p, 'failed');
    data.writeUInt16BE(p.origId, 0);
    const latencyUsec = (performance.now() - p.sentAt) * 1000;
    owner.answered(latencyUsec);
    owner.tcpQueryFailed(); // outstanding--, the query is done
    if (p.xfr) this.#onXfr(p.dq, p.reply, data, size, true);
    else this.#onAnswer(p.dq, p.reply, p.cacheKey, latencyUsec, data, size);
  }

  /** The query gets no answer: counted, the client told (a TCP client's connection is closed, as dnsdist does). */
  #lose(p: Pending, why: 'gaveUp' | 'died' | 'failed'): void {
    const c = this.#owner.counters;
    if (why === 'gaveUp') c.tcpGaveUp++;
    c.drops++;
    this.#owner.tcpQueryFailed();
    this.#onLost(p.dq, p.reply);
  }

  /** After a query is done: a single-query connection is closed; a shared one that went idle is kept or closed. */
  #retireIfDone(conn: DohConnection): void {
    if (conn.pending.size > 0) return;
    if (conn.single || conn.dead) return this.#close(conn);
    conn.idleSince = performance.now();
    if (this.idleCount > this.#tuning.maxIdleConnectionsPerBackend) this.#close(conn);
  }

  #close(conn: DohConnection): void {
    this.#retire(conn);
    conn.session.close();
    conn.socket.end();
  }

  /** Take a connection out of the pool, accounting dnsdist's per-connection averages. */
  #retire(conn: DohConnection): void {
    if (conn.single) {
      if (!this.#singles.delete(conn)) return;
    } else {
      const i = this.#connections.indexOf(conn);
      if (i < 0) return;
      this.#connections.splice(i, 1);
    }
    conn.dead = true;
    const c = this.#owner.counters;
    c.tcpCurrentConnections--;
    c.tcpAvgQueriesPerConnection = (99 * c.tcpAvgQueriesPerConnection) / 100 + conn.queries / 100;
    c.tcpAvgConnectionDuration = (99 * c.tcpAvgConnectionDuration) / 100 + (performance.now() - conn.openedAt) / 100;
  }

  /** The connection died (TLS or connect failure, reset, closed by the backend): its queries are lost. */
  #fail(conn: DohConnection): void {
    this.#retire(conn);
    conn.dead = true;
    if (!conn.session.destroyed) conn.session.destroy();
    if (conn.pending.size === 0) return;
    const pending = [...conn.pending];
    conn.pending.clear();
    const counters = this.#owner.counters;
    for (const p of pending) {
      if (conn.secured) counters.tcpDiedReadingResponse++;
      else counters.tcpDiedSendingQuery++;
      this.#lose(p, 'died');
    }
  }

  /**
   * Once a second: queries waiting longer than `timeoutMs` close their
   * connection with every query on it (as dnsdist does on a backend read
   * timeout); every cleanup interval, idle connections past the idle time go.
   */
  expireTimeouts(now: number, timeoutMs: number): number {
    let n = 0;
    for (const conn of [...this.#connections, ...this.#singles]) {
      let expired = false;
      for (const p of conn.pending) {
        if (now - p.sentAt > timeoutMs) {
          expired = true;
          break;
        }
      }
      if (!expired) continue;
      this.#retire(conn);
      const pending = [...conn.pending];
      conn.pending.clear();
      conn.session.destroy();
      for (const p of pending) {
        this.#owner.counters.tcpReadTimeouts++;
        this.#lose(p, 'failed');
        n++;
      }
    }
    const t = this.#tuning;
    if (now - this.#lastCleanup >= t.cleanupIntervalSeconds * 1000) {
      this.#lastCleanup = now;
      for (const conn of [...this.#connections]) {
        if (conn.pending.size === 0 && (conn.dead || now - conn.idleSince >= t.maxIdleTimeSeconds * 1000)) this.#close(conn);
      }
    }
    return n;
  }

  close(): void {
    this.#closed = true;
    for (const c of [...this.#connections, ...this.#singles]) {
      this.#retire(c);
      c.session.destroy();
    }
  }
}
