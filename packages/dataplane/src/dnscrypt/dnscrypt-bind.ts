/**
 * addDNSCryptBind: a UDP (and, unless doTCP=false, TCP) listener whose
 * queries are DNSCrypt boxes. Each box is opened here and the DNS query
 * inside goes down the ordinary query path; its answer is boxed again on
 * the way back. The provider's certificate query is answered here, in clear.
 */
import net from 'node:net';
import { DNS_HEADER_SIZE, parseAddress } from '@dnsdist-ts/dns';
import type { ReplyChannel } from '../backend/inflight-query.js';
import { listenError } from '../io/listen-error.js';
import { listenWithReusePort } from '../io/reuse-port-tcp-listener.js';
import { createUdpEndpoint } from '../io/udp-endpoint-factory.js';
import type { UdpEndpoint, UdpEndpointOptions } from '../io/udp-endpoint.js';
import { SocketAddress } from '../query/client-address.js';
import { ClientAddressCache } from '../query/client-address-cache.js';
import type { ClientSession } from '../query/client-session.js';
import type { DNSQuestion } from '../query/dns-question.js';
import type { ListenerConnectionCount } from '../server/process-wide-counts.js';
import type { FrontendCounters, QueryProcessor } from '../server/query-processor.js';
import { CellSet } from '../stats/counter-cells.js';
import type { DNSCryptContext } from './dnscrypt-context.js';
import { encryptDNSCryptResponse, parseDNSCryptQuery, type DNSCryptQueryState } from './dnscrypt-exchange.js';

const UDP_SESSION: ClientSession = { protocolName: 'DNSCrypt UDP', serverName: '' };
const TCP_SESSION: ClientSession = { protocolName: 'DNSCrypt TCP', serverName: '' };

export interface DNSCryptBindConfig {
  host: string;
  port: number;
  doTCP: boolean;
  reusePort: boolean;
  /** The configuration line, for bind errors. */
  requestedBy: string;
  /** maxConcurrentTCPConnections: connections over it are closed at once (0 = no limit). */
  maxConcurrentTCPConnections?: number;
  /** tcpListenQueueSize: the TCP listen backlog. */
  tcpListenQueueSize?: number;
}

/** The UDP or TCP half's query counters, in cells (shared live with data-plane workers: stats/counter-cells.ts). */
const LISTENER_CELLS = new CellSet({ queries: 'counter', responses: 'counter', nonCompliantQueries: 'counter' });

class DNSCryptListenerCounters implements FrontendCounters {
  declare queries: number;
  declare responses: number;
  declare nonCompliantQueries: number;

  constructor() {
    LISTENER_CELLS.install(this);
  }
}

/** The listener's own counters, in cells like them. */
const BIND_CELLS = new CellSet({
  tcpCurrentConnections: 'gauge',
  tcpMaxConcurrentConnections: 'max',
  tcpAvgQueriesPerConnection: 'mean',
  tcpAvgConnectionDuration: 'mean',
  invalidQueries: 'counter',
});

export class DNSCryptBind {
  /** showBinds' "UDP (DNSCrypt)" and "TCP (DNSCrypt)" rows. */
  readonly udpCounters: FrontendCounters = new DNSCryptListenerCounters();
  readonly tcpCounters: FrontendCounters = new DNSCryptListenerCounters();
  /** TCP clients connected now, and the most at once (dnsdist's tcpCurrentConnections / tcpMaxConcurrentConnections). */
  declare tcpCurrentConnections: number;
  declare tcpMaxConcurrentConnections: number;
  /** dnsdist's moving averages over closed TCP connections: queries read on one, and how long it lasted (ms). */
  declare tcpAvgQueriesPerConnection: number;
  declare tcpAvgConnectionDuration: number;
  /** Queries that were neither an opening box nor the certificate query (dropped). */
  declare invalidQueries: number;
  local: SocketAddress;
  #udp: UdpEndpoint | undefined;
  #tcp: net.Server | undefined;
  readonly #clients = new ClientAddressCache();
  readonly #sockets = new Set<net.Socket>();
  #idleTimeoutMs = 2000;
  /**
   * With data-plane workers: this listener's TCP connections in every
   * worker, which maxConcurrentTCPConnections applies to (set before start).
   */
  sharedConnections: ListenerConnectionCount | undefined;

  constructor(
    readonly config: DNSCryptBindConfig,
    readonly context: DNSCryptContext,
  ) {
    BIND_CELLS.install(this);
    this.local = new SocketAddress(parseAddress(config.host).bytes, config.port);
  }

  async start(
    processor: QueryProcessor,
    udpImplementation: 'auto' | 'native' | 'dgram',
    idleTimeoutSeconds: number,
    bufferSizes: Pick<UdpEndpointOptions, 'receiveBufferSize' | 'sendBufferSize'> = {},
  ): Promise<void> {
    this.#idleTimeoutMs = idleTimeoutSeconds * 1000;
    const { host, port, reusePort } = this.config;
    let udp: UdpEndpoint;
    try {
      udp = await createUdpEndpoint({ address: host, port, reusePort, ...bufferSizes }, udpImplementation);
    } catch (err) {
      throw listenError(err, this.config.requestedBy, host, port, 'udp');
    }
    this.#udp = udp;
    this.local = new SocketAddress(parseAddress(host).bytes, udp.localPort);
    udp.onDatagram((data, length, from, fromPort) => {
      if (length < DNS_HEADER_SIZE) return processor.countTooShort(this.udpCounters);
      if (!processor.aclAllows(from)) return;
      const remote = this.#clients.get(from, fromPort);
      const parsed = parseDNSCryptQuery(this.context, data.subarray(0, length));
      if (parsed.kind === 'invalid') {
        processor.countQueryHandledByListener(this.udpCounters);
        this.invalidQueries++;
        return;
      }
      if (parsed.kind === 'certificate') {
        processor.countQueryHandledByListener(this.udpCounters);
        udp.send(parsed.answer, parsed.answer.length, remote.bytes, remote.port);
        return;
      }
      const reply = new UdpBoxReply(this, udp, parsed.state);
      processor.handleQuery(parsed.query, parsed.query.length, remote, this.local, 'udp', reply, this.udpCounters, UDP_SESSION);
    });
    if (!this.config.doTCP) return;
    try {
      await this.#listenTcp(processor);
    } catch (err) {
      throw listenError(err, this.config.requestedBy, host, this.local.port, 'tcp');
    }
  }

  #listenTcp(processor: QueryProcessor): Promise<void> {
    const server = net.createServer((socket) => this.#serve(socket, processor));
    this.#tcp = server;
    const max = this.config.maxConcurrentTCPConnections ?? 0;
    if (max > 0 && !this.sharedConnections) server.maxConnections = max;
    // Node 20's net cannot set SO_REUSEPORT (reusePort=true, data-plane workers): the native addon opens the socket.
    if (this.config.reusePort) {
      return listenWithReusePort(server, { host: this.config.host, port: this.local.port, backlog: this.config.tcpListenQueueSize ?? 511 });
    }
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.config.host, port: this.local.port, exclusive: true, backlog: this.config.tcpListenQueueSize }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** One TCP client: 2-byte length-prefixed boxes in, boxed answers out, in any order. */
  #serve(socket: net.Socket, processor: QueryProcessor): void {
    const addr = parseAddress(socket.remoteAddress ?? '0.0.0.0');
    if (!processor.aclAllows(addr.bytes)) return void socket.destroy();
    const max = this.config.maxConcurrentTCPConnections ?? 0;
    const shared = max > 0 ? this.sharedConnections : undefined;
    if (shared && !shared.acquire(max)) return void socket.destroy();
    if (shared) socket.once('close', () => shared.release());
    this.#sockets.add(socket);
    if (++this.tcpCurrentConnections > this.tcpMaxConcurrentConnections) this.tcpMaxConcurrentConnections = this.tcpCurrentConnections;
    const openedAt = performance.now();
    let queries = 0;
    socket.on('close', () => {
      this.#sockets.delete(socket);
      this.tcpCurrentConnections--;
      this.tcpAvgQueriesPerConnection = (99 * this.tcpAvgQueriesPerConnection) / 100 + queries / 100;
      this.tcpAvgConnectionDuration = (99 * this.tcpAvgConnectionDuration) / 100 + (performance.now() - openedAt) / 100;
    });
    socket.on('error', () => socket.destroy());
    socket.setTimeout(this.#idleTimeoutMs, () => socket.destroy());
    const remote = new SocketAddress(addr.bytes, socket.remotePort ?? 0);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const size = pending.readUInt16BE(0);
        if (pending.length < 2 + size) break;
        const packet = pending.subarray(2, 2 + size);
        pending = pending.subarray(2 + size);
        queries++;
        if (size < DNS_HEADER_SIZE) {
          processor.countTooShort(this.tcpCounters);
          return void socket.destroy();
        }
        const parsed = parseDNSCryptQuery(this.context, packet);
        if (parsed.kind === 'invalid') {
          processor.countQueryHandledByListener(this.tcpCounters);
          this.invalidQueries++;
          return void socket.destroy();
        }
        if (parsed.kind === 'certificate') {
          processor.countQueryHandledByListener(this.tcpCounters);
          writeFramed(socket, parsed.answer);
          continue;
        }
        processor.handleQuery(
          parsed.query,
          parsed.query.length,
          remote,
          this.local,
          'tcp',
          new TcpBoxReply(this, socket, parsed.state),
          this.tcpCounters,
          TCP_SESSION,
        );
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await Promise.all([this.#udp?.close(), this.#tcp === undefined ? undefined : new Promise<void>((r) => this.#tcp!.close(() => r()))]);
  }
}

function writeFramed(socket: net.Socket, data: Buffer): void {
  if (socket.destroyed) return;
  const prefix = Buffer.allocUnsafe(2);
  prefix.writeUInt16BE(data.length, 0);
  socket.write(Buffer.concat([prefix, data]));
}

/** The way back for one UDP query: its answer boxed with that query's key and nonce. */
class UdpBoxReply implements ReplyChannel {
  constructor(
    readonly bind: DNSCryptBind,
    readonly udp: UdpEndpoint,
    readonly state: DNSCryptQueryState,
  ) {}

  sendAnswer(dq: DNSQuestion, data: Buffer, length: number): void {
    this.bind.udpCounters.responses++;
    const boxed = encryptDNSCryptResponse(this.state, data.subarray(0, length), false);
    this.udp.send(boxed, boxed.length, dq.remote.bytes, dq.remote.port);
  }
}

class TcpBoxReply implements ReplyChannel {
  constructor(
    readonly bind: DNSCryptBind,
    readonly socket: net.Socket,
    readonly state: DNSCryptQueryState,
  ) {}

  sendAnswer(_dq: DNSQuestion, data: Buffer, length: number): void {
    this.bind.tcpCounters.responses++;
    writeFramed(this.socket, encryptDNSCryptResponse(this.state, data.subarray(0, length), true));
  }

  abandon(): void {
    this.socket.destroy();
  }
}
