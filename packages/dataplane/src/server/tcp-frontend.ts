import type { ProxiedClient } from './incoming-proxy-protocol.js';
import net from 'node:net';
import { parseAddress, peerAddressBytes } from '@dnsdist-ts/dns';
import type { ReplyChannel } from '../backend/inflight-query.js';
import { nativeTcpStreamsAvailable } from '../io/native-tcp-stream.js';
import { loadNativeUdpAddon } from '../io/native-udp-addon.js';
import { listenWithReusePort } from '../io/reuse-port-tcp-listener.js';
import { SocketAddress } from '../query/client-address.js';
import type { ClientSession } from '../query/client-session.js';
import type { DNSQuestion } from '../query/dns-question.js';
import { CellSet } from '../stats/counter-cells.js';
import { LocalClientConnectionCounts, REFUSED, type ClientConnectionCounts, type ListenerConnectionCount } from './process-wide-counts.js';
import type { FrontendCounters, QueryProcessor } from './query-processor.js';
import { NativeClientStream, NetClientStream, type ClientStream } from './client-stream.js';
import { tcpReadShouldPause } from './tcp-read-flow.js';

export interface TcpFrontendOptions {
  /** Queries of one connection processed at once; 0 = one at a time, in order (dnsdist's default). */
  maxInFlight: number;
  /** Concurrent client connections on this listener; 0 = unlimited. */
  maxConcurrentConnections: number;
  /** Seconds a connection may sit idle (no query pending) before it is closed (setTCPRecvTimeout). */
  idleTimeoutSeconds: number;
  /**
   * Seconds a query may take to arrive whole, from its first byte (the
   * length prefix) to its last, while the proxy is reading; 0 = no limit
   * (setTCPQueryReadDeadline). The idle timeout restarts on every byte, so
   * without this a client trickling one byte a second holds the connection
   * and its buffer forever.
   */
  queryReadDeadlineSeconds?: number;
  listenQueueSize: number;
  /** Concurrent connections from one client address; 0 = unlimited (setMaxTCPConnectionsPerClient). */
  maxConnectionsPerClient?: number;
  /** Where connections per client are counted: the process's, over every listener; absent: this listener's own. */
  clientConnections?: ClientConnectionCounts;
  /** With data-plane workers: this listener's connections in every worker, which maxConcurrentConnections applies to. */
  sharedConnections?: ListenerConnectionCount;
  /** Queries read from one connection before it is closed; 0 = unlimited (setMaxTCPQueriesPerConnection). */
  maxQueriesPerConnection?: number;
  /** Seconds a connection may live; 0 = unlimited (setMaxTCPConnectionDuration). */
  maxConnectionDurationSeconds?: number;
  /** Seconds a client may leave its answers unread before it is dropped (setTCPSendTimeout). */
  sendTimeoutSeconds?: number;
  /** SO_REUSEPORT: one more listener on an address others listen on too (addLocal reusePort=true, workers). */
  reusePort?: boolean;
  /** addLocal/addTLSLocal tcpFastOpenQueueSize: TCP_FASTOPEN on the listener (clients' data rides on their SYN); 0 = off. */
  fastOpenQueueSize?: number;
}

/** Every native client stream reads into this one buffer: each read is handled before the next. */
const CLIENT_READ_BUFFER = Buffer.allocUnsafe(65536);

/**
 * Move an accepted, paused node:net connection to the addon's TCP streams:
 * a duplicate of its fd becomes the stream and node:net's socket is
 * destroyed (closing only its own fd). Undefined when node:net exposes no fd
 * or the duplicate cannot be made (EMFILE): node:net keeps the connection.
 */
function takeOverFd(socket: net.Socket): NativeClientStream | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  let dup: number;
  try {
    dup = loadNativeUdpAddon().dupFd(fd);
  } catch {
    return undefined;
  }
  socket.destroy();
  return new NativeClientStream(dup, CLIENT_READ_BUFFER);
}

/**
 * What turns an accepted TCP connection into the stream queries are read
 * from: TLS runs its handshake first. The ACL and the connection limits have
 * been applied to the socket already.
 */
export interface StreamUpgrade {
  /**
   * Start on `socket`; call `ready` once queries can be read (with the
   * session queries should carry), or destroy the stream. Every stream made
   * on top of the socket is passed to `track` first: the connection ends
   * when the first tracked stream closes.
   */
  upgrade(socket: net.Socket, ready: (stream: net.Socket, session: ClientSession) => void, track: (stream: net.Socket) => void): void;
  /** A whole query was read on a connection of this session (per-session counters). */
  queryRead(session: ClientSession): void;
}

function peerBytes(text: string | undefined): Uint8Array | undefined {
  if (!text) return undefined;
  const t = text.startsWith('::ffff:') && text.includes('.') ? text.slice(7) : text;
  try {
    return peerAddressBytes(t);
  } catch {
    return undefined;
  }
}

/** The address a connection accepted on a wildcard listener was made to (dnsdist's dq.localaddr). */
function connectionLocal(socket: net.Socket, listener: SocketAddress): SocketAddress {
  const bytes = peerBytes(socket.localAddress);
  return bytes ? new SocketAddress(bytes, socket.localPort ?? listener.port) : listener;
}

/** One client connection: length-prefixed queries in, answers out in any order. */
class TcpClientConnection implements ReplyChannel {
  readonly #stream: ClientStream;
  readonly #frontend: TcpFrontend;
  readonly remote: SocketAddress;
  readonly #session: ClientSession | undefined;
  /** The address the client connected to: the listener's, or for a wildcard listener the connection's own. */
  readonly local: SocketAddress;
  #buffer: Buffer = Buffer.alloc(0);
  #inFlight = 0;
  #closed = false;
  #paused = false;
  #queries = 0;
  #draining = false;
  #drainAgain = false;
  /** A zone transfer was asked on this connection: it reads no further query and ends with the transfer. */
  #transfer = false;
  /** setProxyProtocolACL names this sender: its first bytes are a proxy protocol header. */
  #awaitingProxyHeader: boolean;
  /** The client that header named. */
  #proxied: ProxiedClient | undefined;
  /** Armed from the first byte of a query still incomplete; see TcpFrontendOptions.queryReadDeadlineSeconds. */
  #readDeadline: NodeJS.Timeout | undefined;

  constructor(
    stream: ClientStream,
    remote: SocketAddress,
    local: SocketAddress,
    frontend: TcpFrontend,
    session: ClientSession | undefined,
  ) {
    this.#stream = stream;
    this.remote = remote;
    this.local = local;
    this.#frontend = frontend;
    this.#session = session;
    this.#awaitingProxyHeader = frontend.processor.expectsProxyHeader(remote.bytes);
    stream.onIdle(frontend.options.idleTimeoutSeconds * 1000, () => {
      if (this.#inFlight === 0) stream.destroy();
    });
    const maxDuration = frontend.options.maxConnectionDurationSeconds ?? 0;
    if (maxDuration > 0) {
      const timer = setTimeout(() => stream.destroy(), maxDuration * 1000);
      stream.onClose(() => clearTimeout(timer));
    }
    stream.onData((chunk, transient) => this.#onData(chunk, transient));
    // The client read its answers: go on with what it sent meanwhile.
    stream.onDrain(() => this.#drain());
    // A client that stops reading its answers for the send timeout is dropped.
    const sendTimeout = frontend.options.sendTimeoutSeconds ?? 0;
    if (sendTimeout > 0) {
      let stalledSince = 0;
      const check = setInterval(() => {
        if (!stream.needsDrain) stalledSince = 0;
        else if (stalledSince === 0) stalledSince = Date.now();
        else if (Date.now() - stalledSince >= sendTimeout * 1000) stream.destroy();
      }, 1000);
      check.unref();
      stream.onClose(() => clearInterval(check));
    }
    stream.onClose(() => {
      this.#closed = true;
      this.#clearReadDeadline();
    });
  }

  #onData(chunk: Buffer, transient: boolean): void {
    const shared = transient && this.#buffer.length === 0;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (!this.#awaitingProxyHeader || this.#readProxyHeader()) this.#drain();
    // What is left of a shared read buffer is copied: the next read, on any connection, reuses it.
    if (shared && this.#buffer.length > 0) this.#buffer = Buffer.from(this.#buffer);
  }

  /** The connection's proxy protocol header (setProxyProtocolACL): false until it is whole; a bad one closes the connection. */
  #readProxyHeader(): boolean {
    const v = this.#frontend.processor.readProxyHeader(this.#buffer, this.#buffer.length, this.remote, this.#frontend.local, true);
    if (v === 'incomplete') return false;
    if (v === undefined) {
      this.destroy();
      return false;
    }
    this.#awaitingProxyHeader = false;
    this.#proxied = v;
    this.#buffer = this.#buffer.subarray(v.size);
    return true;
  }

  #limit(): number {
    const m = this.#frontend.options.maxInFlight;
    return m > 0 ? m : 1;
  }

  /**
   * Hand buffered queries to the query path while the in-flight limit
   * allows. Answers made synchronously (cache, rules) come back through
   * #done() inside handleQuery: that only asks for another pass, so a long
   * pipeline is walked by this loop instead of by recursion.
   */
  #drain(): void {
    if (this.#draining) {
      this.#drainAgain = true;
      return;
    }
    this.#draining = true;
    try {
      do {
        this.#drainAgain = false;
        this.#drainOnce();
      } while (this.#drainAgain && !this.#closed);
    } finally {
      this.#draining = false;
    }
    this.#updateFlow();
  }

  #drainOnce(): void {
    const maxQueries = this.#frontend.options.maxQueriesPerConnection ?? 0;
    while (!this.#closed && !this.#transfer && this.#buffer.length >= 2 && this.#inFlight < this.#limit() && !this.#stream.needsDrain) {
      if (maxQueries > 0 && this.#queries >= maxQueries) {
        // dnsdist stops reading and closes once the answers already owed are sent.
        if (this.#inFlight === 0) this.#stream.end();
        return;
      }
      const len = this.#buffer.readUInt16BE(0);
      if (this.#buffer.length < 2 + len) break;
      // The query path copies the query: the read buffer may move on.
      const packet = this.#buffer.subarray(2, 2 + len);
      this.#buffer = this.#buffer.subarray(2 + len);
      // This query arrived whole: the next one's deadline starts at its own first byte.
      this.#clearReadDeadline();
      this.#inFlight++;
      this.#queries++;
      const session = this.#session;
      if (session !== undefined) this.#frontend.upgrade?.queryRead(session);
      const p = this.#proxied;
      this.#frontend.processor.handleQuery(
        packet,
        len,
        p?.remote ?? this.remote,
        p?.local ?? this.local,
        'tcp',
        this,
        this.#frontend,
        session,
        undefined,
        false,
        p,
      );
    }
  }

  /** Stop or go on reading (tcp-read-flow.ts says when), and keep the read deadline's clock with it. */
  #updateFlow(): void {
    if (this.#closed) return;
    const wantPause = tcpReadShouldPause(this.#transfer, this.#stream.needsDrain, this.#inFlight, this.#limit(), this.#buffer.length);
    if (wantPause !== this.#paused) {
      this.#paused = wantPause;
      if (wantPause) this.#stream.pause();
      else this.#stream.resume();
    }
    this.#updateReadDeadline();
  }

  /**
   * The read deadline runs while a query is incomplete and the proxy is
   * reading: a pause of ours (in-flight limit, unread answers) is not the
   * client's delay, so it stops the clock, and reading again restarts it.
   */
  #updateReadDeadline(): void {
    const seconds = this.#frontend.options.queryReadDeadlineSeconds ?? 0;
    const b = this.#buffer;
    const partial = b.length > 0 && (b.length < 2 || b.length < 2 + b.readUInt16BE(0));
    // Waiting for an answer before reading the next query is the proxy's delay, not the client's: no clock then.
    const waiting = this.#paused || this.#inFlight >= this.#limit();
    if (seconds <= 0 || waiting || !partial) {
      this.#clearReadDeadline();
      return;
    }
    if (this.#readDeadline !== undefined) return;
    this.#readDeadline = setTimeout(() => {
      this.#readDeadline = undefined;
      this.#frontend.readDeadlineClosures++;
      this.#stream.destroy();
    }, seconds * 1000);
  }

  #clearReadDeadline(): void {
    if (this.#readDeadline === undefined) return;
    clearTimeout(this.#readDeadline);
    this.#readDeadline = undefined;
  }

  #done(): void {
    this.#inFlight--;
    if (this.#closed) return;
    const maxQueries = this.#frontend.options.maxQueriesPerConnection ?? 0;
    if (this.#transfer) {
      if (this.#inFlight === 0) this.#stream.end();
    } else if (maxQueries > 0 && this.#queries >= maxQueries && this.#inFlight === 0) this.#stream.end();
    else this.#drain();
  }

  beginTransfer(_dq: DNSQuestion): void {
    // As dnsdist: a connection that carries a zone transfer takes no other query.
    this.#transfer = true;
    this.#updateFlow();
  }

  sendTransferPart(_dq: DNSQuestion, data: Buffer, length: number): void {
    if (this.#closed) return;
    this.#stream.writeMessage(data, length);
  }

  sendAnswer(_dq: DNSQuestion, data: Buffer, length: number): void {
    if (!this.#closed) {
      this.#stream.writeMessage(data, length);
      this.#frontend.responses++;
    }
    this.#done();
  }

  abandon(_dq: DNSQuestion): void {
    // A query that gets no answer ends the connection, as a TCP client would otherwise wait forever.
    this.#closed = true;
    this.#stream.destroy();
    this.#done();
  }

  destroy(): void {
    this.#closed = true;
    this.#stream.destroy();
  }

  onClose(fn: () => void): void {
    if (this.#stream.closed) fn();
    else this.#stream.onClose(fn);
  }
}

/** A TCP listener's counters, in cells (shared live with data-plane workers: counter-cells.ts). */
const TCP_CELLS = new CellSet({
  queries: 'counter',
  responses: 'counter',
  nonCompliantQueries: 'counter',
  currentConnections: 'gauge',
  maxConcurrentConnectionsReached: 'counter',
  readDeadlineClosures: 'counter',
});

/** One TCP listener (a `setLocal`/`addLocal` address). */
export class TcpFrontend implements FrontendCounters {
  readonly server: net.Server;
  readonly local: SocketAddress;
  readonly processor: QueryProcessor;
  readonly options: TcpFrontendOptions;
  /** TLS (DoT) listeners: the handshake before the first query. */
  readonly upgrade: StreamUpgrade | undefined;
  declare queries: number;
  declare responses: number;
  declare nonCompliantQueries: number;
  declare currentConnections: number;
  declare maxConcurrentConnectionsReached: number;
  /** Connections closed because a query did not arrive whole within the read deadline. */
  declare readDeadlineClosures: number;
  readonly #connections = new Set<TcpClientConnection>();
  /** Every open stream, handshakes included (closed at stop). */
  readonly #streams = new Set<net.Socket>();
  /** Open connections per client address (for maxConnectionsPerClient). */
  readonly #perClient: ClientConnectionCounts;
  /** Connections move to the addon's TCP streams (accepted paused by node:net). */
  #nativeStreams = false;

  /** Whether this listener's connections run on the addon's TCP streams (plain TCP with the addon built) or on node:net. */
  get usesNativeStreams(): boolean {
    return this.#nativeStreams;
  }

  private constructor(
    server: net.Server,
    local: SocketAddress,
    processor: QueryProcessor,
    options: TcpFrontendOptions,
    upgrade: StreamUpgrade | undefined,
  ) {
    TCP_CELLS.install(this);
    this.server = server;
    this.local = local;
    this.processor = processor;
    this.options = options;
    this.upgrade = upgrade;
    this.#perClient = options.clientConnections ?? new LocalClientConnectionCounts();
  }

  static listen(
    host: string,
    port: number,
    processor: QueryProcessor,
    options: TcpFrontendOptions,
    upgrade?: StreamUpgrade,
  ): Promise<TcpFrontend> {
    // Plain DNS over TCP runs on the addon's streams when it is built: connections are accepted
    // paused, so that node:net reads nothing before the addon takes the fd over.
    const nativeStreams = upgrade === undefined && nativeTcpStreamsAvailable();
    const server = net.createServer({ pauseOnConnect: nativeStreams });
    const fastOpenQueueSize = options.fastOpenQueueSize ?? 0;
    const listening =
      options.reusePort === true || fastOpenQueueSize > 0
        ? listenWithReusePort(server, {
            host,
            port,
            backlog: options.listenQueueSize,
            reusePort: options.reusePort === true,
            fastOpenQueueSize,
          })
        : new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen({ host, port, backlog: options.listenQueueSize, exclusive: true }, () => {
              server.off('error', reject);
              resolve();
            });
          });
    return listening.then(() => {
      const addr = server.address() as net.AddressInfo;
      const local = new SocketAddress(parseAddress(addr.address).bytes, addr.port);
      const fe = new TcpFrontend(server, local, processor, options, upgrade);
      fe.#nativeStreams = nativeStreams;
      server.on('connection', (socket) => fe.#accept(socket));
      server.on('error', () => {
        // accept errors (EMFILE…) must not stop the proxy
      });
      return fe;
    });
  }

  /**
   * A listener this thread does not own (data-plane workers do): counters
   * and address only, for what the control plane shows (showBinds, the
   * API, /metrics). Its server never listens.
   */
  static detached(local: SocketAddress, processor: QueryProcessor, options: TcpFrontendOptions): TcpFrontend {
    return new TcpFrontend(net.createServer(), local, processor, options, undefined);
  }

  #accept(socket: net.Socket): void {
    const bytes = peerBytes(socket.remoteAddress);
    if (!bytes || !this.processor.aclAllows(bytes)) {
      socket.destroy();
      return;
    }
    const max = this.options.maxConcurrentConnections;
    const shared = max > 0 ? this.options.sharedConnections : undefined;
    if (shared ? !shared.acquire(max) : max > 0 && this.currentConnections >= max) {
      this.maxConcurrentConnectionsReached++;
      socket.destroy();
      return;
    }
    const handle = this.#perClient.acquire(bytes, this.options.maxConnectionsPerClient ?? 0);
    if (handle === REFUSED) {
      shared?.release();
      socket.destroy();
      return;
    }
    this.currentConnections++;
    const remote = new SocketAddress(bytes, socket.remotePort ?? 0);
    const local = this.local.isWildcard() ? connectionLocal(socket, this.local) : this.local;
    let conn: TcpClientConnection | undefined;
    const start = (stream: net.Socket, session: ClientSession | undefined): void => {
      conn = new TcpClientConnection(new NetClientStream(stream), remote, local, this, session);
      this.#connections.add(conn);
    };
    let finished = false;
    const tracked: net.Socket[] = [];
    const finish = (): void => {
      if (finished) return;
      finished = true;
      for (const t of tracked) this.#streams.delete(t);
      if (conn) this.#connections.delete(conn);
      this.currentConnections--;
      shared?.release();
      this.#perClient.release(bytes, handle);
    };
    const track = (stream: net.Socket): void => {
      tracked.push(stream);
      this.#streams.add(stream);
      stream.once('close', finish);
    };
    const native = this.#nativeStreams ? takeOverFd(socket) : undefined;
    if (native !== undefined) {
      conn = new TcpClientConnection(native, remote, local, this, undefined);
      this.#connections.add(conn);
      native.onClose(finish);
      return;
    }
    track(socket);
    if (this.upgrade) this.upgrade.upgrade(socket, start, track);
    else {
      // Accepted paused for the native streams, which could not take this one: node:net reads it.
      if (this.#nativeStreams) socket.resume();
      start(socket, undefined);
    }
  }

  close(): Promise<void> {
    for (const c of this.#connections) c.destroy();
    for (const s of this.#streams) s.destroy();
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
