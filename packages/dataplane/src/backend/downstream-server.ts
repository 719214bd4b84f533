import { randomUUID } from 'node:crypto';
import { formatAddressWithPort, type IpAddressWithPort } from '@dnsdist-ts/dns';
import { coarseNow } from '../query/coarse-clock.js';
import type { DNSQuestion } from '../query/dns-question.js';
import type { DownstreamServerInfo } from '../query/downstream-server-info.js';
import type { UdpEndpoint } from '../io/udp-endpoint.js';
import { InflightQuery, type ReplyChannel } from './inflight-query.js';
import { QpsLimiter } from '../rules/qps-limiter.js';
import { TcpBackendPool } from './tcp-backend-pool.js';
import type { TlsClientContext } from '../tls/tls-client-context.js';
import { ProxiedDatagram } from './proxy-protocol-payload.js';
import { ProxiedTcpConnections } from './proxied-tcp-connections.js';
import { DohBackendPool, type DohBackendSettings } from './doh-backend-pool.js';
import { DohClientTuning } from './doh-client-tuning.js';
import { CellSet } from '../stats/counter-cells.js';

/** newServer's settings, with dnsdist's defaults applied by the caller. */
export interface DownstreamServerConfig {
  address: IpAddressWithPort;
  name: string;
  pools: string[];
  weight: number;
  order: number;
  /** Queries per second this backend accepts; 0 = unlimited. */
  qps: number;
  checkName: string;
  checkType: number;
  checkClass: number;
  /** newServer{checkFunction=…}: rewrites the health-check question and header before each check. */
  checkFunction?: CheckQueryFunction;
  /** Seconds between health checks. */
  checkInterval: number;
  /** Milliseconds to wait for a health-check answer. */
  checkTimeout: number;
  maxCheckFailures: number;
  rise: number;
  mustResolve: boolean;
  tcpOnly: boolean;
  /** newServer{useClientSubnet=true}: queries get the client's subnet as EDNS Client Subnet. */
  useClientSubnet?: boolean;
  /** newServer{addXPF=code}: queries carry an XPF record of this RR type naming the client (draft-bellis-dnsop-xpf). */
  addXPF?: number;
  /** newServer{retries=N}: attempts in all, each on a new TCP connection, for a query whose connection dies before its answer. */
  retries?: number;
  /** newServer{tcpFastOpen=true}: pooled TCP connections to it send their first query on the SYN (TCP_FASTOPEN_CONNECT). */
  tcpFastOpen?: boolean;
  /** newServer{disableZeroScope=true}: no zero-scope caching for this backend's answers. */
  disableZeroScope?: boolean;
  /**
   * newServer{useProxyProtocol=true}: a proxy protocol v2 header before every
   * UDP query and at the start of every TCP connection (which then carries
   * only one client connection's queries).
   */
  useProxyProtocol?: boolean;
  /** UDP sockets towards this backend (dnsdist's `sockets`); queries spread over them. */
  sockets: number;
  /** newServer{tls=…}: every query (UDP ones too) and health check goes over TLS. */
  tls?: TlsClientContext;
  /** newServer{dohPath=…}: every query (UDP ones too) and health check is an HTTP/2 POST (DNS over HTTPS with tls). */
  doh?: DohBackendSettings;
  /** The proxy's outgoing DoH tuning (setMaxIdleDoHConnectionsPerDownstream…); dnsdist's defaults when absent. */
  dohTuning?: DohClientTuning;
  /**
   * Queries one TCP connection to this backend may carry at once, answered
   * in any order (dnsdist's out-of-order support); 0 = one at a time.
   */
  maxInFlight: number;
  id: string;
}

/** The question a health check asks; a checkFunction may change all three. */
export interface CheckQuestion {
  name: string;
  qtype: number;
  qclass: number;
}

/**
 * dnsdist's checkFunction(qname, qtype, qclass, dh): gets the configured
 * question and the check query's 12-byte header (whose flags it may change),
 * returns the question to ask. Throws when the script fails.
 */
export type CheckQueryFunction = (question: CheckQuestion, header: Buffer) => CheckQuestion;

export type Availability = 'auto' | 'up' | 'down';
/** Availability by its number in a backend's state word. */
const AVAILABILITY: readonly Availability[] = ['auto', 'up', 'down'];

/** Called with the answer to a forwarded query, before its slot is reused. */
export type BackendAnswerHandler = (
  server: DownstreamServer,
  dq: DNSQuestion,
  reply: ReplyChannel,
  cacheKey: number,
  latencyUsec: number,
  data: Buffer,
  length: number,
) => void;

/** Is this datagram the answer to that question (QR set, same question, or an acceptable empty answer)? */
export type AnswerMatcher = (data: Buffer, length: number, dq: DNSQuestion) => boolean;

/** One message of a zone transfer's answer over TCP; `last` when it ends the transfer. */
export type XfrMessageHandler = (
  server: DownstreamServer,
  dq: DNSQuestion,
  reply: ReplyChannel,
  data: Buffer,
  length: number,
  last: boolean,
) => void;

/** A forwarded query will get no answer (timeout, reused slot, dead TCP connection). */
export type QueryLostHandler = (server: DownstreamServer, dq: DNSQuestion, reply: ReplyChannel) => void;

const ID_SPACE = 65536;

/** A backend's own counters beside DownstreamCounters, in cells like them. */
const SERVER_CELLS = new CellSet({ unexpectedAnswers: 'counter', outstanding: 'gauge', latencyUsec: 'mean' });

/** Per-backend counters, as showServers() and the metrics show them. */
/** The backend counters' names and how they add up across data-plane workers (counter-cells.ts). */
const COUNTER_CELLS = new CellSet({
  queries: 'counter',
  responses: 'counter',
  drops: 'counter',
  sendErrors: 'counter',
  reuseds: 'counter',
  tcpDiedSendingQuery: 'counter',
  tcpDiedReadingResponse: 'counter',
  tcpGaveUp: 'counter',
  tcpConnectTimeouts: 'counter',
  tcpReadTimeouts: 'counter',
  tcpWriteTimeouts: 'counter',
  tcpNewConnections: 'counter',
  tcpReusedConnections: 'counter',
  tlsResumptions: 'counter',
  tcpMaxConcurrentConnections: 'max',
  tcpCurrentConnections: 'gauge',
  tcpAvgQueriesPerConnection: 'mean',
  tcpAvgConnectionDuration: 'mean',
});

export class DownstreamCounters {
  declare queries: number;
  declare responses: number;
  /** Queries that timed out (or whose slot was reused before an answer). */
  declare drops: number;
  declare sendErrors: number;
  declare reuseds: number;
  declare tcpDiedSendingQuery: number;
  declare tcpDiedReadingResponse: number;
  declare tcpGaveUp: number;
  declare tcpConnectTimeouts: number;
  declare tcpReadTimeouts: number;
  declare tcpWriteTimeouts: number;
  declare tcpNewConnections: number;
  declare tcpReusedConnections: number;
  /** TLS backends: connections that resumed an earlier session. */
  declare tlsResumptions: number;
  /** Most TCP connections open to this backend at once. */
  declare tcpMaxConcurrentConnections: number;
  /**
   * Connections open to it now, of every kind (pooled TCP/TLS, proxied, DoH): dnsdist's
   * tcpCurrentConnections. Kept by the pools as they open and retire connections, in a cell,
   * so that with data-plane workers it reads as the sum of every worker's.
   */
  declare tcpCurrentConnections: number;
  /** Moving averages over closed connections (dnsdist: 99/100 weight): queries each carried, and how long it lived (ms). */
  declare tcpAvgQueriesPerConnection: number;
  declare tcpAvgConnectionDuration: number;

  constructor() {
    COUNTER_CELLS.install(this);
  }
}

/**
 * One backend (dnsdist's DownstreamState): its settings, health state,
 * counters, and the sockets queries go out on. UDP queries get a fresh ID
 * from a 65,536-slot table (the client's ID is restored on the way back);
 * TCP queries go through a pool of reused, pipelined connections.
 */
export class DownstreamServer implements DownstreamServerInfo {
  readonly config: DownstreamServerConfig;
  readonly addressText: string;
  readonly counters = new DownstreamCounters();
  /**
   * Up/down state: [availability (0 auto, 1 up, 2 down), health-check verdict (0/1)]. With
   * data-plane workers the control plane's is shared memory the workers' copies read
   * (workers/shared-backend-states.ts): a verdict or setDown() is theirs at once.
   */
  #state: Int32Array<ArrayBufferLike> = new Int32Array(2);
  /** Whether #state is another thread's (shareState). */
  #stateShared = false;
  /** In-flight queries (UDP and TCP). */
  declare outstanding: number;
  /** Moving average of the answer latency, µs (dnsdist: 127/128 EWMA). */
  declare latencyUsec: number;
  /** Queries-per-second meter for showServers (updated by the maintenance tick). */
  queryLoad = 0;
  #lastQueries = 0;
  #limiter: QpsLimiter | undefined;
  #udpEndpoints: UdpEndpoint[] = [];
  #slots: InflightQuery[] = [];
  #nextId = 0;
  /** Oldest slot that may still be in use (see expireTimeouts). */
  #scanFrom = 0;
  #tcp: TcpBackendPool;
  /** With dohPath: the HTTP/2 connections every query goes on. */
  #doh: DohBackendPool | undefined;
  /** With useProxyProtocol: where each UDP query is assembled behind its header. */
  #proxied: ProxiedDatagram | undefined;
  /** With useProxyProtocol: TCP connections owned by one client each, instead of the shared pool. */
  #proxiedTcp: ProxiedTcpConnections | undefined;
  #onAnswer: BackendAnswerHandler;
  #onLost: QueryLostHandler;
  readonly #matches: AnswerMatcher;
  /** Why the last health check failed, when it is worth telling (a TLS handshake or certificate failure). */
  lastCheckFailure: string | undefined;
  /** Where failed connections are reported (the proxy's log); set by its owner. */
  onConnectionFailure: ((reason: string) => void) | undefined;
  /** Datagrams on the backend sockets that were not an answer we wait for (wrong source, unknown ID, other question). */
  declare unexpectedAnswers: number;

  constructor(
    config: DownstreamServerConfig,
    onAnswer: BackendAnswerHandler,
    onLost: QueryLostHandler,
    matches: AnswerMatcher,
    onXfr: XfrMessageHandler = (server, dq, reply, data, length) => onAnswer(server, dq, reply, 0, 0, data, length),
  ) {
    SERVER_CELLS.install(this);
    this.config = config;
    this.addressText = formatAddressWithPort(config.address);
    if (config.qps > 0) this.#limiter = new QpsLimiter(config.qps, config.qps, undefined, 'newServer');
    this.#onAnswer = onAnswer;
    this.#onLost = onLost;
    this.#matches = matches;
    if (config.useProxyProtocol === true) {
      this.#proxied = new ProxiedDatagram();
      this.#proxiedTcp = new ProxiedTcpConnections(
        this,
        (dq, reply, cacheKey, latencyUsec, data, length) => this.#onAnswer(this, dq, reply, cacheKey, latencyUsec, data, length),
        (dq, reply) => this.#onLost(this, dq, reply),
        (dq, reply, data, length, last) => onXfr(this, dq, reply, data, length, last),
      );
    }
    if (config.doh !== undefined) {
      this.#doh = new DohBackendPool(
        this,
        config.dohTuning ?? new DohClientTuning(),
        (dq, reply, cacheKey, latencyUsec, data, length) => this.#onAnswer(this, dq, reply, cacheKey, latencyUsec, data, length),
        (dq, reply) => this.#onLost(this, dq, reply),
        (dq, reply, data, length, last) => onXfr(this, dq, reply, data, length, last),
      );
    }
    this.#tcp = new TcpBackendPool(
      this,
      (dq, reply, cacheKey, latencyUsec, data, length) => this.#onAnswer(this, dq, reply, cacheKey, latencyUsec, data, length),
      (dq, reply) => this.#onLost(this, dq, reply),
      (dq, reply, data, length, last) => onXfr(this, dq, reply, data, length, last),
    );
  }

  get name(): string {
    return this.config.name;
  }

  /** 'up' or 'down' forced (setUp/setDown), or 'auto': the health check decides. */
  get availability(): Availability {
    // A worker's copy is forced up or down by the control plane's verdict, as if set so: it runs no health check of its own.
    if (this.#stateShared) return this.isUp() ? 'up' : 'down';
    return AVAILABILITY[this.#state[0]!]!;
  }

  set availability(value: Availability) {
    const n = AVAILABILITY.indexOf(value);
    if (n < 0) throw new TypeError(`backend ${this.name}: availability "${String(value)}" is none of auto, up, down`);
    // A worker's copy follows the control plane's state: a console command replayed there does not overwrite it.
    if (!this.#stateShared) this.#state[0] = n;
  }

  /** Health-check verdict, used when availability is auto. */
  get upStatus(): boolean {
    return this.#state[1] === 1;
  }

  set upStatus(value: boolean) {
    if (!this.#stateShared) this.#state[1] = value ? 1 : 0;
  }

  /**
   * Keep the up/down state in `cells` (two words) from now on: with `carry`, what
   * this backend has now goes there first (the thread that decides); without, the
   * backend follows what is there (a data-plane worker).
   */
  shareState(cells: Int32Array, carry: boolean): void {
    if (carry) cells.set(this.#state);
    this.#state = cells;
    this.#stateShared = !carry;
  }

  /** Whether this backend follows another thread's up/down state (shareState without carry). */
  get followsSharedState(): boolean {
    return this.#stateShared;
  }

  connectionFailed(reason: string): void {
    this.onConnectionFailure?.(reason);
  }

  /** Queries of every client go over TCP (tcpOnly), TLS or DoH. */
  get streamOnly(): boolean {
    return this.config.tcpOnly || this.config.tls !== undefined || this.config.doh !== undefined;
  }

  get id(): string {
    return this.config.id;
  }

  /** Is the backend selectable now? */
  isUp(): boolean {
    const a = this.#state[0];
    return a === 1 || (a === 0 && this.#state[1] === 1);
  }

  /** The state column of showServers(): "up"/"down" when forced, "UP"/"DOWN"... as dnsdist prints it. */
  stateText(): string {
    if (this.availability === 'up') return 'UP';
    if (this.availability === 'down') return 'DOWN';
    return this.upStatus ? 'up' : 'down';
  }

  /** Policy look-ahead: would the qps limit let a query through? */
  qpsWouldAllow(): boolean {
    return this.#limiter === undefined || this.#limiter.peek();
  }

  setQps(qps: number): void {
    this.config.qps = qps;
    this.#limiter = qps > 0 ? new QpsLimiter(qps, qps, undefined, 'setQPS') : undefined;
  }

  /** Attach the UDP sockets (created by the proxy, native or dgram). */
  attachUdpEndpoints(endpoints: UdpEndpoint[]): void {
    this.#udpEndpoints = endpoints;
    for (const ep of endpoints) {
      ep.onDatagram((data, length, from, fromPort) => this.#onUdpDatagram(data, length, from, fromPort));
    }
    if (this.#slots.length === 0) {
      for (let i = 0; i < ID_SPACE; i++) this.#slots.push(new InflightQuery());
    }
  }

  get udpEndpoints(): readonly UdpEndpoint[] {
    return this.#udpEndpoints;
  }

  /**
   * Forward a query over UDP. The packet's ID is rewritten in place to the
   * slot's; `dq.packet` must belong to the query (not a shared buffer).
   */
  sendUdp(dq: DNSQuestion, reply: ReplyChannel, cacheKey: number): void {
    if (this.#udpEndpoints.length === 0) {
      // Removed (or not started): nothing to send on.
      this.counters.sendErrors++;
      this.#onLost(this, dq, reply);
      return;
    }
    const proxied = this.#proxied;
    if (proxied !== undefined && !proxied.prepare(dq, dq.packet, dq.length)) {
      // No header can say where an IPv6 client reached an IPv4 address (or the reverse): dropped, as dnsdist does.
      this.#onLost(this, dq, reply);
      return;
    }
    this.#limiter?.check();
    const id = this.#nextId;
    this.#nextId = (id + 1) & 0xffff;
    const slot = this.#slots[id]!;
    if (slot.inUse) {
      // dnsdist reuses the slot and counts the lost query as a reuse and a timeout.
      this.counters.reuseds++;
      this.counters.drops++;
      this.outstanding--;
      this.#onLost(this, slot.dq!, slot.reply!);
    }
    slot.inUse = true;
    slot.origId = dq.view.id;
    slot.dq = dq;
    slot.reply = reply;
    slot.cacheKey = cacheKey;
    slot.sentAt = coarseNow();
    const pkt = dq.packet;
    pkt[0] = id >> 8;
    pkt[1] = id & 0xff;
    this.outstanding++;
    this.counters.queries++;
    const ep = this.#udpEndpoints[id % this.#udpEndpoints.length]!;
    const errorsBefore = ep.sendErrors;
    if (proxied === undefined) ep.send(pkt, dq.length, this.config.address.bytes, this.config.address.port);
    else {
      // The ID went into the packet after it was copied behind the header.
      const at = proxied.length - dq.length;
      proxied.buffer[at] = pkt[0]!;
      proxied.buffer[at + 1] = pkt[1]!;
      ep.send(proxied.buffer, proxied.length, this.config.address.bytes, this.config.address.port);
    }
    if (ep.sendErrors !== errorsBefore) this.counters.sendErrors++;
  }

  /**
   * Forward a query over TCP (TCP clients, and every query for tcpOnly
   * backends); `xfr` for a zone transfer whose answer may span messages.
   */
  sendTcp(dq: DNSQuestion, reply: ReplyChannel, cacheKey: number, xfr = false): void {
    this.#limiter?.check();
    this.counters.queries++;
    this.outstanding++;
    if (this.#doh !== undefined) return this.#doh.send(dq, reply, cacheKey, xfr);
    // Zone transfers to a proxied backend go through the shared pool, without a header (not handled on proxied connections yet).
    if (this.#proxiedTcp !== undefined && !xfr) this.#proxiedTcp.send(dq, reply, cacheKey);
    else this.#tcp.send(dq, reply, cacheKey, xfr);
  }

  /** Called by the TCP pool when a query will never be answered. */
  tcpQueryFailed(): void {
    this.outstanding--;
  }

  /**
   * A datagram on a backend socket. Only the backend's own address may
   * answer, and only for a slot in use with the same question: anything
   * else is counted and ignored, and the slot keeps waiting for the real
   * answer (a late or forged datagram must not cost the query).
   */
  #onUdpDatagram(data: Buffer, length: number, from: Uint8Array, fromPort: number): void {
    const addr = this.config.address;
    if (length < 12 || fromPort !== addr.port || !sameAddress(from, addr.bytes)) {
      this.unexpectedAnswers++;
      return;
    }
    const id = (data[0]! << 8) | data[1]!;
    const slot = this.#slots[id]!;
    if (!slot.inUse) {
      this.unexpectedAnswers++;
      return;
    }
    const dq = slot.dq!;
    if (!this.#matches(data, length, dq)) {
      this.unexpectedAnswers++;
      return;
    }
    const reply = slot.reply!;
    const latencyUsec = (coarseNow() - slot.sentAt) * 1000;
    data[0] = slot.origId >> 8;
    data[1] = slot.origId & 0xff;
    const cacheKey = slot.cacheKey;
    slot.release();
    this.outstanding--;
    this.answered(latencyUsec);
    this.#onAnswer(this, dq, reply, cacheKey, latencyUsec, data, length);
  }

  /** Is this the answer to `dq`? (The pool checks TCP answers with it.) */
  answerMatches(data: Buffer, length: number, dq: DNSQuestion): boolean {
    return this.#matches(data, length, dq);
  }

  /** Account an answer's latency (UDP and TCP). */
  answered(latencyUsec: number): void {
    this.counters.responses++;
    this.latencyUsec = (127 * this.latencyUsec) / 128 + latencyUsec / 128;
  }

  /**
   * Expire UDP queries older than `timeoutMs`. Called once a second; a scan
   * of the slot table only happens while queries are outstanding.
   */
  expireTimeouts(now: number, timeoutMs: number): number {
    if (this.#slots.length === 0) {
      return (
        this.#tcp.expireTimeouts(now, timeoutMs) +
        (this.#proxiedTcp?.expireTimeouts(now, timeoutMs) ?? 0) +
        (this.#doh?.expireTimeouts(now, timeoutMs) ?? 0)
      );
    }
    let expired = 0;
    const slots = this.#slots;
    // IDs are handed out in time order, so walking from the oldest slot that may still be in use
    // towards the next ID meets the expired ones first: stop at the first one still waiting. This
    // visits only the slots used since the last pass instead of all 65,536 (and allocates nothing).
    let i = this.#scanFrom;
    while (i !== this.#nextId && this.outstanding > 0) {
      const slot = slots[i]!;
      if (slot.inUse) {
        if (!(now - slot.sentAt > timeoutMs)) break;
        const dq = slot.dq!;
        const reply = slot.reply!;
        slot.release();
        this.outstanding--;
        this.counters.drops++;
        expired++;
        this.#onLost(this, dq, reply);
      }
      i = (i + 1) & 0xffff;
    }
    this.#scanFrom = this.outstanding === 0 ? this.#nextId : i;
    expired += this.#tcp.expireTimeouts(now, timeoutMs);
    if (this.#proxiedTcp !== undefined) expired += this.#proxiedTcp.expireTimeouts(now, timeoutMs);
    if (this.#doh !== undefined) expired += this.#doh.expireTimeouts(now, timeoutMs);
    return expired;
  }

  /** Once a second: refresh the qps meter. */
  tick(elapsedSeconds: number): void {
    const q = this.counters.queries;
    this.queryLoad = elapsedSeconds > 0 ? (q - this.#lastQueries) / elapsedSeconds : 0;
    this.#lastQueries = q;
  }

  get tcpPool(): TcpBackendPool {
    return this.#tcp;
  }

  /** Connections open to it now, of every kind (pooled TCP/TLS, proxied, DoH): dnsdist's tcpCurrentConnections (every worker's). */
  get tcpCurrentConnections(): number {
    return this.counters.tcpCurrentConnections;
  }

  /** The DoH connections of a dohPath backend; undefined for every other. */
  get dohPool(): DohBackendPool | undefined {
    return this.#doh;
  }

  async close(): Promise<void> {
    // Queries still waiting will never be answered now: account them as dnsdist would at their timeout.
    this.expireTimeouts(Infinity, -1);
    this.#tcp.close();
    this.#proxiedTcp?.close();
    this.#doh?.close();
    await Promise.all(this.#udpEndpoints.map((ep) => ep.close()));
    this.#udpEndpoints = [];
  }

  toString(): string {
    return this.config.name;
  }
}

function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** dnsdist's default for a server's UUID. */
export function newServerId(): string {
  return randomUUID();
}
