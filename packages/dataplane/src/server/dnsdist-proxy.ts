import { IncomingProxyProtocol } from './incoming-proxy-protocol.js';
import { Netmask, NetmaskGroup, formatAddress, parseAddress } from '@dnsdist-ts/dns';
import { DownstreamServer, type DownstreamServerConfig } from '../backend/downstream-server.js';
import { answerMatchesQuestion } from '../backend/answer-matches.js';
import { HealthState, runHealthCheck } from '../backend/health-check.js';
import { DohClientTuning } from '../backend/doh-client-tuning.js';
import { BalancingFactors } from '../backend/policies/balancing-factors.js';
import { LeastOutstandingPolicy } from '../backend/policies/least-outstanding.js';
import type { ServerPolicy } from '../backend/policies/server-policy.js';
import { ServerPool } from '../backend/server-pool.js';
import type { DohFrontend } from '../doh/doh-frontend.js';
import { listenError } from '../io/listen-error.js';
import type { DNSCryptBind } from '../dnscrypt/dnscrypt-bind.js';
import { createUdpEndpoint } from '../io/udp-endpoint-factory.js';
import type { UdpEndpoint, UdpEndpointOptions } from '../io/udp-endpoint.js';
import {
  raisedBufferLines,
  readSystemUdpBufferDefaults,
  udpBufferRequest,
  type SystemUdpBufferDefaults,
  type UdpBufferRequest,
  type UdpSocketBufferSizes,
} from '../io/udp-socket-buffer-sizes.js';
import { SocketAddress } from '../query/client-address.js';
import type { DNSQuestion } from '../query/dns-question.js';
import type { DynBlockCheck, QueryCache, QueryRecorder, RulesEngine } from '../query/query-collaborators.js';
import { ProxyCounters } from '../stats/proxy-counters.js';
import { DEFAULT_ACL, DEFAULT_LOCAL, type FrontendConfig } from './frontend-config.js';
import { Logger } from './logger.js';
import { QueryProcessor, type QueryPathContext } from './query-processor.js';
import { LocalProcessWideCounts, type ListenerConnectionCount, type ProcessWideCounts } from './process-wide-counts.js';
import { TcpFrontend, type TcpFrontendOptions } from './tcp-frontend.js';
import { TlsStreamUpgrade, type TlsFrontendConfig } from './tls-frontend.js';
import { UdpFrontend } from './udp-frontend.js';

export type CachePool = ServerPool<QueryCache & { toString(): string }>;

/** Rings also keep queries that timed out (grepq shows them as "T.O"). */
export interface TimeoutRecorder {
  recordTimeout(dq: DNSQuestion, server: DownstreamServer): void;
}

/** Netmask texts in address order (IPv4 first), as dnsdist prints its ACLs. */
export function sortMasks(masks: string[]): string[] {
  const key = (m: string): [number, Uint8Array, number] => {
    const nm = Netmask.fromString(m.replace(/^!/, ''));
    const bytes = nm.network();
    return [bytes.length, bytes, nm.bits];
  };
  return [...masks].sort((a, b) => {
    const [fa, ba, la] = key(a);
    const [fb, bb, lb] = key(b);
    if (fa !== fb) return fa - fb;
    for (let i = 0; i < ba.length; i++) if (ba[i] !== bb[i]) return ba[i]! - bb[i]!;
    return la - lb;
  });
}

/** Settings changed by `set*` functions, with dnsdist's defaults. */
export class ProxySettings {
  /** setUDPTimeout: seconds before an unanswered UDP query counts as a timeout. */
  udpTimeoutSeconds = 2;
  /** setTCPRecvTimeout: seconds without a byte from a client (restarted on every read, as in dnsdist). */
  tcpRecvTimeoutSeconds = 2;
  /** setTCPQueryReadDeadline (ours): seconds from a query's first byte to its last; 0 = no limit. */
  tcpQueryReadDeadlineSeconds = 5;
  servFailWhenNoServer = false;
  dropEmptyQueries = false;
  /** setMaxUDPOutstanding: accepted (the slot table is always 65,536). */
  maxUDPOutstanding = 65535;
  /** setStaleCacheEntriesTTL: serve expired cache entries this long when no backend is up (0 = never). */
  staleCacheEntriesTTL = 0;
  /** setCacheCleaningDelay: seconds between passes removing expired cache entries. */
  cacheCleaningDelaySeconds = 60;
  /** setCacheCleaningPercentage: how much of the expired entries a pass removes. */
  cacheCleaningPercentage = 100;
  /** setMaxTCPConnectionsPerClient: concurrent TCP connections from one client address (0 = no limit). */
  maxTCPConnectionsPerClient = 0;
  /**
   * setMaxTCPClientThreads: dnsdist's TCP worker threads. With data-plane
   * workers, only the first this many accept TCP and DoT connections (0 =
   * not set: every worker); with one event loop it changes nothing.
   */
  maxTCPClientThreads = 0;
  /** setMaxTCPQueriesPerConnection: queries served on one TCP connection before it is closed (0 = no limit). */
  maxTCPQueriesPerConnection = 0;
  /** setMaxTCPConnectionDuration: seconds a TCP connection may live (0 = no limit). */
  maxTCPConnectionDurationSeconds = 0;
  /** setTCPSendTimeout: seconds a TCP client may leave its answers unread before it is dropped. */
  tcpSendTimeoutSeconds = 2;
  /** setAddEDNSToSelfGeneratedResponses / setPayloadSizeOnSelfGeneratedAnswers (spoofed answers). */
  addEDNSToSelfGeneratedResponses = true;
  payloadSizeOnSelfGeneratedAnswers = 1232;
  /** setAllowEmptyResponse: pass on NOERROR/NXDOMAIN answers without a question section too. */
  allowEmptyResponse = false;
  /** setECSSourcePrefixV4 / V6: the prefix lengths of the client subnet sent to backends with useClientSubnet. */
  ecsSourcePrefixV4 = 24;
  ecsSourcePrefixV6 = 56;
  /** setECSOverride: replace a client's own ECS option instead of keeping it. */
  ecsOverride = false;
  /** truncateTC: strip TC=1 UDP answers from backends down to header and question. */
  truncateTC = false;
  /** Which UDP implementation frontends and backends use. */
  udpImplementation: 'auto' | 'native' | 'dgram' = 'auto';
  /** setUDPSocketBufferSizes: SO_RCVBUF / SO_SNDBUF of the UDP listeners (0: the system's default; only ever raised). */
  readonly udpSocketBufferSizes: UdpSocketBufferSizes = { receive: 0, send: 0 };
  /** Outgoing DoH: idle connections, idle time, cleanup interval (setMaxIdleDoHConnectionsPerDownstream…). */
  readonly dohClient = new DohClientTuning();
  /** setWeightedBalancingFactor / setConsistentHashingBalancingFactor, read by the policies of every pool. */
  readonly balancingFactors = new BalancingFactors();
}

/** dnsdist's listener when the configuration has none. */
const DEFAULT_FRONTEND: FrontendConfig = {
  host: DEFAULT_LOCAL.host,
  port: DEFAULT_LOCAL.port,
  reusePort: false,
  tcpListenQueueSize: 511,
  maxInFlight: 0,
  maxConcurrentTCPConnections: 0,
  tcpFastOpenQueueSize: 0,
  interface: '',
  cpus: [],
  fromCommandLine: false,
  requestedBy: `the default listener (no setLocal or addLocal in the configuration)`,
};

/** How much earlier than a full checkInterval the tick may start the next health check. */
const HEALTH_CHECK_SLACK_MS = 100;

/** A listener pair once started. */
/** What /metrics shows of one carbonServer. */
export interface CarbonEndpointCounters {
  readonly addressText: string;
  readonly sent: number;
  readonly failed: number;
}

export interface RunningFrontend {
  config: FrontendConfig;
  udp: UdpFrontend;
  tcp: TcpFrontend;
}

/** One listener of the plan: a plain UDP+TCP pair or a DoT listener. */
export type ListenerSlot = { tls: false; config: FrontendConfig } | { tls: true; config: TlsFrontendConfig };

/** An `addTLSLocal` listener once started. */
export interface RunningTlsFrontend {
  config: TlsFrontendConfig;
  tcp: TcpFrontend;
  tls: TlsStreamUpgrade;
}

/**
 * The running proxy: dnsdist's global state (frontends, ACL, backends,
 * pools, policies, rules, rings, counters) and its lifecycle. The Lua
 * bindings configure it; nothing here knows about Lua.
 */
export class DnsdistProxy implements QueryPathContext {
  readonly counters = new ProxyCounters();
  readonly startedAt = Date.now();
  readonly settings = new ProxySettings();
  /** What dnsdist counts once per process (roundrobin position, TCP connections); shared by the workers when there are several. */
  processWide: ProcessWideCounts = new LocalProcessWideCounts();
  /** False in a data-plane worker past setMaxTCPClientThreads: its TCP and DoT listeners are not opened (the others take the connections). */
  acceptsTcp = true;
  readonly log = new Logger();
  acl = new NetmaskGroup();
  readonly incomingProxyProtocol = new IncomingProxyProtocol();
  /** ACL entries given before the config ran (-a); they suppress the default ACL. */
  #aclTouched = false;
  /** net.core.rmem_default / wmem_default, read when a listener first needs them. */
  #systemUdpBuffers: SystemUdpBufferDefaults | undefined;
  readonly frontendConfigs: FrontendConfig[] = [];
  readonly frontends: RunningFrontend[] = [];
  /** addTLSLocal listeners, in configuration order (getTLSContext(n), getTLSFrontend(n)). */
  readonly tlsFrontendConfigs: TlsFrontendConfig[] = [];
  readonly tlsFrontends: RunningTlsFrontend[] = [];
  /** Every listener in the order the configuration (and -l) added them. */
  readonly #order: ListenerSlot[] = [];
  /** addDOHLocal listeners, in configuration order (getDOHFrontend(n)); bound before the plain ones. */
  readonly dohFrontends: DohFrontend[] = [];
  /** addDNSCryptBind listeners, in configuration order (getDNSCryptBind(n)). */
  readonly dnscryptBinds: DNSCryptBind[] = [];
  /** carbonServer() exports, when the application made them (their counters are in /metrics). */
  carbon: { readonly endpoints: readonly CarbonEndpointCounters[] } | undefined;
  readonly servers: DownstreamServer[] = [];
  readonly pools = new Map<string, CachePool>();
  defaultPolicy: ServerPolicy = new LeastOutstandingPolicy();
  rules: RulesEngine;
  recorder: QueryRecorder & Partial<TimeoutRecorder>;
  dynBlocks: DynBlockCheck | undefined;
  readonly processor: QueryProcessor;
  /** Called once a second after the proxy's own housekeeping (the Lua `maintenance`). */
  onTick: (() => void) | undefined;
  /** Housekeeping of other parts (dynamic blocks…), run each tick before `onTick`. */
  readonly #tickHooks: Array<(now: number) => void> = [];
  #health = new Map<DownstreamServer, { state: HealthState; nextAt: number; running: boolean }>();
  #timer: NodeJS.Timeout | undefined;
  #lastTick = performance.now();
  #nextCacheCleaning = performance.now() + 60_000;
  #started = false;
  /**
   * Another thread's health checks decide this proxy's backends (a data-plane
   * worker follows the control plane's): none run here, and a backend added at
   * run time stays down (auto, no verdict) until its state is set from there.
   */
  healthChecksElsewhere = false;

  /** @param makeRules builds the rules engine on the proxy's counters (the rules move rule-* counters). */
  constructor(makeRules: (counters: ProxyCounters) => RulesEngine, recorder: QueryRecorder & Partial<TimeoutRecorder>) {
    this.rules = makeRules(this.counters);
    this.recorder = recorder;
    this.processor = new QueryProcessor(this);
    this.pools.set('', new ServerPool(''));
  }

  get started(): boolean {
    return this.#started;
  }

  get servFailWhenNoServer(): boolean {
    return this.settings.servFailWhenNoServer;
  }

  get dropEmptyQueries(): boolean {
    return this.settings.dropEmptyQueries;
  }

  get staleCacheEntriesTTL(): number {
    return this.settings.staleCacheEntriesTTL;
  }

  get allowEmptyResponse(): boolean {
    return this.settings.allowEmptyResponse;
  }

  get addEDNSToSelfGeneratedResponses(): boolean {
    return this.settings.addEDNSToSelfGeneratedResponses;
  }

  get payloadSizeOnSelfGeneratedAnswers(): number {
    return this.settings.payloadSizeOnSelfGeneratedAnswers;
  }

  get ecsSourcePrefixV4(): number {
    return this.settings.ecsSourcePrefixV4;
  }

  get ecsSourcePrefixV6(): number {
    return this.settings.ecsSourcePrefixV6;
  }

  get ecsOverride(): boolean {
    return this.settings.ecsOverride;
  }

  get truncateTC(): boolean {
    return this.settings.truncateTC;
  }

  getPool(name: string): CachePool | undefined {
    return this.pools.get(name);
  }

  /** getPool() in Lua creates the pool when missing. */
  getOrCreatePool(name: string): CachePool {
    let p = this.pools.get(name);
    if (!p) {
      p = new ServerPool(name);
      this.pools.set(name, p);
    }
    return p;
  }

  // ---- ACL ------------------------------------------------------------

  /**
   * addACL from the configuration or the console: added to what is there,
   * the default ranges included, as dnsdist does (its defaults are in place
   * before the configuration runs).
   */
  addACL(mask: string): void {
    this.#materializeDefaultACL();
    this.acl.addMask(mask);
  }

  /** rmACL: removes a range, a default one included. */
  removeACL(mask: string): void {
    this.#materializeDefaultACL();
    this.acl.deleteMask(mask);
  }

  /** -a on the command line: the first one replaces the default ranges, as in dnsdist. */
  addCommandLineACL(mask: string): void {
    this.acl.addMask(mask);
    this.#aclTouched = true;
  }

  #materializeDefaultACL(): void {
    this.applyDefaultACLIfEmpty();
    this.#aclTouched = true;
  }

  setACL(masks: string[]): void {
    const nmg = new NetmaskGroup();
    for (const m of masks) nmg.addMask(m);
    this.acl = nmg;
    this.#aclTouched = true;
  }

  /** The ACL as dnsdist lists it: IPv4 before IPv6, by address, then prefix length. */
  aclStrings(): string[] {
    return sortMasks(this.acl.toStrings());
  }

  /** Apply the default ACL if nothing set one (dnsdist does this before reading the config). */
  applyDefaultACLIfEmpty(): void {
    if (!this.#aclTouched && this.acl.size() === 0) for (const m of DEFAULT_ACL) this.acl.addMask(m);
  }

  // ---- frontends --------------------------------------------------------

  addLocal(config: FrontendConfig): void {
    this.frontendConfigs.push(config);
    this.#order.push({ tls: false, config });
  }

  setLocal(config: FrontendConfig): void {
    for (let i = this.frontendConfigs.length - 1; i >= 0; i--) {
      if (!this.frontendConfigs[i]!.fromCommandLine) this.frontendConfigs.splice(i, 1);
    }
    for (let i = this.#order.length - 1; i >= 0; i--) {
      const o = this.#order[i]!;
      if (!o.tls && !o.config.fromCommandLine) this.#order.splice(i, 1);
    }
    this.addLocal(config);
  }

  /**
   * The listeners to open, in dnsdist's order (its g_frontends, which
   * getBind(n) and showBinds number): the configuration's in the order
   * given; with -l, the configuration's plain listeners are replaced by the
   * -l ones, which come after the TLS ones; with none at all, the default.
   */
  listenerPlan(): ListenerSlot[] {
    const cli = this.#order.filter((o) => !o.tls && o.config.fromCommandLine);
    if (cli.length > 0) return [...this.#order.filter((o) => o.tls), ...cli];
    if (this.#order.length > 0) return [...this.#order];
    // As dnsdist: the default listener only when nothing at all (plain, DoT or DoH) is configured.
    if (this.dohFrontends.length > 0 || this.dnscryptBinds.length > 0) return [];
    return [{ tls: false, config: DEFAULT_FRONTEND }];
  }

  /** addTLSLocal: a DoT listener (started with the others; its context is usable at once). */
  addTlsLocal(config: TlsFrontendConfig): void {
    this.tlsFrontendConfigs.push(config);
    this.#order.push({ tls: true, config });
  }

  // ---- backends ---------------------------------------------------------

  /** newServer: registers the backend (and starts it when the proxy runs already). */
  async addServer(config: DownstreamServerConfig): Promise<DownstreamServer> {
    const server = new DownstreamServer(
      config,
      (s, dq, reply, cacheKey, latency, data, length) => this.processor.handleBackendAnswer(s, dq, reply, cacheKey, latency, data, length),
      (s, dq, reply) => {
        this.counters.downstreamTimeouts++;
        this.recorder.recordTimeout?.(dq, s);
        this.processor.queryLost(dq, reply);
      },
      (data, length, dq) => {
        if (answerMatchesQuestion(data, length, dq, this.settings.allowEmptyResponse)) return true;
        this.counters.nonCompliantResponses++;
        return false;
      },
      (s, dq, reply, data, length, last) => this.processor.handleXfrMessage(dq, reply, data, length, last),
    );
    server.onConnectionFailure = (reason) => this.log.warn(reason);
    this.servers.push(server);
    for (const name of config.pools.length > 0 ? config.pools : ['']) this.getOrCreatePool(name).add(server);
    this.#health.set(server, { state: new HealthState(), nextAt: 0, running: false });
    if (this.#started) await this.#startServer(server, false);
    return server;
  }

  removeServer(server: DownstreamServer): void {
    const i = this.servers.indexOf(server);
    if (i < 0) return;
    this.servers.splice(i, 1);
    for (const p of this.pools.values()) p.remove(server);
    this.#health.delete(server);
    void server.close();
  }

  async #startServer(server: DownstreamServer, initial: boolean): Promise<void> {
    const endpoints = [];
    for (let i = 0; i < Math.max(1, server.config.sockets); i++) {
      endpoints.push(await this.#openBackendSocket(server));
    }
    server.attachUdpEndpoints(endpoints);
    if (server.availability === 'auto') await this.#checkHealth(server, initial);
  }

  /**
   * A UDP socket for a backend, connected as dnsdist's are (the kernel keeps
   * the route and drops answers from anywhere else). When connecting fails
   * (no route yet, say) the backend still gets an unconnected socket, as
   * dnsdist keeps a backend it could not connect: its sends fail and are
   * counted, and health checks mark it down.
   */
  async #openBackendSocket(server: DownstreamServer): Promise<UdpEndpoint> {
    const { bytes, port, family } = server.config.address;
    const local = { address: family === 4 ? '0.0.0.0' : '::', port: 0 };
    try {
      return await createUdpEndpoint({ ...local, connect: { address: formatAddress(bytes), port } }, this.settings.udpImplementation);
    } catch (err) {
      this.log.error(`Error connecting to new server with address ${server.addressText}: ${(err as Error).message}`);
      return createUdpEndpoint(local, this.settings.udpImplementation);
    }
  }

  async #checkHealth(server: DownstreamServer, initial: boolean): Promise<void> {
    const h = this.#health.get(server);
    if (!h || h.running || this.healthChecksElsewhere) return;
    h.running = true;
    // The next check is due one interval after this one started, not after it ended: the 1 s tick
    // that starts checks comes round a hair less than an interval after this one (timers round to
    // the millisecond), and counting from the end made every other tick skip the check, so
    // checkInterval=1 checked every 2 s. The slack absorbs the tick's jitter.
    h.nextAt = performance.now() + server.config.checkInterval * 1000 - HEALTH_CHECK_SLACK_MS;
    try {
      let ok: boolean;
      try {
        ok = await runHealthCheck(server);
      } catch (err) {
        // A failing checkFunction: logged, and the check counts as failed (dnsdist does the same).
        this.log.warn((err as Error).message);
        ok = false;
      }
      const changed = h.state.record(server, ok, initial);
      if (changed !== undefined && this.servers.includes(server)) {
        this.log.warn(`Marking downstream ${server.name} (${server.addressText}) as '${changed ? 'up' : 'down'}'`);
        if (!changed && server.lastCheckFailure !== undefined)
          this.log.warn(`Downstream ${server.name} (${server.addressText}): ${server.lastCheckFailure}`);
      }
    } finally {
      h.running = false;
    }
  }

  // ---- lifecycle --------------------------------------------------------

  /**
   * The plain (UDP and TCP) listeners start() binds, in order: -l's when
   * given (they replace the configuration's), else the configuration's,
   * else dnsdist's default (added the first time, so that data-plane
   * workers can adjust it: SO_REUSEPORT, the port the first worker got).
   */
  listenerConfigs(): FrontendConfig[] {
    if (this.#order.length === 0 && this.dohFrontends.length === 0 && this.dnscryptBinds.length === 0)
      this.addLocal({ ...DEFAULT_FRONTEND });
    return this.listenerPlan().flatMap((slot) => (slot.tls ? [] : [slot.config]));
  }

  /**
   * Bind every listener (unless `listenersElsewhere`: data-plane workers
   * own them), open backend sockets, run the first health checks, start
   * the 1 s tick.
   */
  async start(listenersElsewhere = false): Promise<void> {
    this.applyDefaultACLIfEmpty();
    this.listenerConfigs();
    // Backends first, with their first health check, so the proxy answers from its first query.
    this.#started = true;
    await Promise.all(this.servers.map((s) => this.#startServer(s, true)));
    // DoH listeners are bound before the plain ones: whoever waits for the plain port to answer finds them up.
    for (const doh of listenersElsewhere ? [] : this.dohFrontends) {
      doh.sharedConnections = this.processWide.listenerConnections('doh', this.dohFrontends.indexOf(doh));
      await doh.start();
      if (!this.quietListeners) this.log.info(`Listening on ${doh.local.toStringWithPort()} for DoH`);
    }
    for (const bind of listenersElsewhere ? [] : this.dnscryptBinds) {
      bind.sharedConnections = this.processWide.listenerConnections('dnscrypt', this.dnscryptBinds.indexOf(bind));
      try {
        await bind.start(
          this.processor,
          this.settings.udpImplementation,
          this.settings.tcpRecvTimeoutSeconds,
          this.#listenerBufferSizes(bind.local.toStringWithPort()),
        );
      } catch (err) {
        throw listenError(err, bind.config.requestedBy, bind.config.host, bind.config.port, 'udp');
      }
      this.log.info(`Listening on ${bind.local.toStringWithPort()} for DNSCrypt`);
    }
    for (const slot of listenersElsewhere ? [] : this.listenerPlan()) {
      if (slot.tls) {
        await this.#listenTls(slot.config);
        continue;
      }
      const fc = slot.config;
      // A bind error names the configuration line that asked for the listener.
      const requestedBy = fc.requestedBy ?? `the listener on ${new SocketAddress(parseAddress(fc.host).bytes, fc.port).toStringWithPort()}`;
      const { udp, tcp, local } = await this.#listenUdpAndTcp(fc, requestedBy);
      this.frontends.push({ config: fc, udp, tcp });
      if (!this.quietListeners) this.log.info(`Listening on ${local.toStringWithPort()}`);
    }
    this.#lastTick = performance.now();
    // As dnsdist, the first cleaning comes setCacheCleaningDelay seconds after start, not the default 60.
    this.#nextCacheCleaning = this.#lastTick + this.settings.cacheCleaningDelaySeconds * 1000;
    this.#timer = setInterval(() => this.tick(), 1000);
  }

  /** A data-plane worker binds quietly: the control plane says "Listening on" once per listener. */
  quietListeners = false;

  /**
   * The UDP socket, then the TCP listener on the same port. With port 0 the
   * port UDP got may already be taken for TCP by another socket: pick again
   * (a few times) rather than fail, as a user asking for "any port" expects.
   * The refused UDP sockets stay open until the choice is made, so the kernel
   * cannot hand out the same port twice.
   */
  async #listenUdpAndTcp(fc: FrontendConfig, requestedBy: string): Promise<{ udp: UdpFrontend; tcp: TcpFrontend; local: SocketAddress }> {
    const refused: UdpFrontend[] = [];
    try {
      return await this.#listenUdpAndTcpOnce(fc, requestedBy, refused);
    } finally {
      await Promise.all(refused.map((u) => u.close()));
    }
  }

  async #listenUdpAndTcpOnce(
    fc: FrontendConfig,
    requestedBy: string,
    refused: UdpFrontend[],
  ): Promise<{ udp: UdpFrontend; tcp: TcpFrontend; local: SocketAddress }> {
    for (let attempt = 1; ; attempt++) {
      let endpoint: UdpEndpoint;
      try {
        endpoint = await createUdpEndpoint(
          {
            address: fc.host,
            port: fc.port,
            reusePort: fc.reusePort,
            ...this.#listenerBufferSizes(new SocketAddress(parseAddress(fc.host).bytes, fc.port).toStringWithPort()),
          },
          this.settings.udpImplementation,
        );
      } catch (err) {
        throw listenError(err, requestedBy, fc.host, fc.port, 'udp');
      }
      const local = new SocketAddress(parseAddress(fc.host).bytes, endpoint.localPort);
      const udp = new UdpFrontend(endpoint, local, this.processor);
      let tcp: TcpFrontend;
      try {
        const options = this.#tcpOptions(fc, this.processWide.listenerConnections('plain', this.listenerConfigs().indexOf(fc)));
        tcp = this.acceptsTcp
          ? await TcpFrontend.listen(fc.host, endpoint.localPort, this.processor, { ...options, reusePort: fc.reusePort })
          : TcpFrontend.detached(local, this.processor, options);
      } catch (err) {
        const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (fc.port === 0 && inUse && attempt < 5) {
          refused.push(udp);
          continue;
        }
        await udp.close();
        throw listenError(err, requestedBy, fc.host, endpoint.localPort, 'tcp');
      }
      return { udp, tcp, local };
    }
  }

  /**
   * What a UDP listener's socket asks for (setUDPSocketBufferSizes, or the
   * system's maximum for a side it leaves unset), and what dnsdist logs for
   * each such socket. (A data-plane worker binds quietly: the control plane logs it.)
   */
  udpBufferRequest(): UdpBufferRequest {
    this.#systemUdpBuffers ??= readSystemUdpBufferDefaults();
    return udpBufferRequest(this.settings.udpSocketBufferSizes, this.#systemUdpBuffers);
  }

  /** What dnsdist logs of a UDP listener's buffers on `address` (`request`: udpBufferRequest()). */
  logUdpBuffers(request: UdpBufferRequest, address: string): void {
    for (const line of request.warnings) this.log.warn(line);
    for (const line of raisedBufferLines(request, address)) this.log.info(line);
  }

  /** The buffer sizes a UDP listener's socket on `address` asks for, logging what dnsdist logs of them. */
  #listenerBufferSizes(address: string): Pick<UdpEndpointOptions, 'receiveBufferSize' | 'sendBufferSize'> {
    const request = this.udpBufferRequest();
    if (!this.quietListeners) this.logUdpBuffers(request, address);
    return {
      ...(request.receiveBufferSize > 0 ? { receiveBufferSize: request.receiveBufferSize } : {}),
      ...(request.sendBufferSize > 0 ? { sendBufferSize: request.sendBufferSize } : {}),
    };
  }

  #tcpOptions(fc: FrontendConfig, sharedConnections: ListenerConnectionCount | undefined): TcpFrontendOptions {
    return {
      sharedConnections,
      clientConnections: this.processWide.clientConnections,
      maxInFlight: fc.maxInFlight,
      maxConcurrentConnections: fc.maxConcurrentTCPConnections,
      idleTimeoutSeconds: this.settings.tcpRecvTimeoutSeconds,
      queryReadDeadlineSeconds: this.settings.tcpQueryReadDeadlineSeconds,
      listenQueueSize: fc.tcpListenQueueSize,
      fastOpenQueueSize: fc.tcpFastOpenQueueSize,
      maxConnectionsPerClient: this.settings.maxTCPConnectionsPerClient,
      maxQueriesPerConnection: this.settings.maxTCPQueriesPerConnection,
      maxConnectionDurationSeconds: this.settings.maxTCPConnectionDurationSeconds,
      sendTimeoutSeconds: this.settings.tcpSendTimeoutSeconds,
    };
  }

  /** A DoT listener: the TCP query path behind a TLS handshake (which gets the receive timeout too). */
  async #listenTls(fc: TlsFrontendConfig): Promise<void> {
    const requestedBy = fc.requestedBy ?? `the TLS listener on ${fc.host}:${fc.port}`;
    const upgrade = new TlsStreamUpgrade(fc.tls, this.settings.tcpRecvTimeoutSeconds);
    let tcp: TcpFrontend;
    try {
      const options = this.#tcpOptions(fc, this.processWide.listenerConnections('tls', this.tlsFrontendConfigs.indexOf(fc)));
      tcp = this.acceptsTcp
        ? await TcpFrontend.listen(fc.host, fc.port, this.processor, { ...options, reusePort: fc.reusePort }, upgrade)
        : TcpFrontend.detached(new SocketAddress(parseAddress(fc.host).bytes, fc.port), this.processor, options);
    } catch (err) {
      upgrade.close();
      throw listenError(err, requestedBy, fc.host, fc.port, 'tcp');
    }
    this.tlsFrontends.push({ config: fc, tcp, tls: upgrade });
    if (!this.quietListeners) this.log.info(`Listening on ${tcp.local.toStringWithPort()} for TLS`);
  }

  /** Run `hook` once a second with the tick's performance.now() time; errors are logged, not thrown. */
  addTickHook(hook: (now: number) => void): void {
    this.#tickHooks.push(hook);
  }

  /** The once-a-second housekeeping: timeouts, qps meters, health checks, then the Lua maintenance hook. */
  tick(): void {
    const now = performance.now();
    const elapsed = (now - this.#lastTick) / 1000;
    this.#lastTick = now;
    for (const s of this.servers) {
      s.expireTimeouts(now, this.settings.udpTimeoutSeconds * 1000);
      s.tick(elapsed);
      const h = this.#health.get(s);
      if (h && s.availability === 'auto' && !h.running && now >= h.nextAt && s.udpEndpoints.length > 0) {
        void this.#checkHealth(s, false);
      }
    }
    if (this.tlsFrontendConfigs.length > 0) {
      const wall = Date.now();
      for (const fc of this.tlsFrontendConfigs) {
        try {
          fc.tls.tick(wall);
        } catch (err) {
          this.log.error(`Error rotating the TLS ticket keys of ${fc.host}:${fc.port}: ${(err as Error).message}`);
        }
      }
    }
    if (now >= this.#nextCacheCleaning) {
      this.#nextCacheCleaning = now + this.settings.cacheCleaningDelaySeconds * 1000;
      this.#cleanCaches();
    }
    const nowSeconds = Math.floor(Date.now() / 1000);
    for (const doh of this.dohFrontends) doh.tick(nowSeconds);
    for (const hook of this.#tickHooks) {
      try {
        hook(now);
      } catch (err) {
        this.log.error(`Error in the maintenance tick: ${(err as Error).message}`);
      }
    }
    try {
      this.onTick?.();
    } catch (err) {
      this.log.error(`Error in the maintenance tick: ${(err as Error).message}`);
    }
  }

  /**
   * Remove expired entries from every pool's cache. A cache that keeps stale
   * data is left alone while one of its pools has no backend up: those
   * entries are what it serves then.
   */
  #cleanCaches(): void {
    const seen = new Set<unknown>();
    for (const pool of this.pools.values()) {
      const cache = pool.cache;
      if (!cache || seen.has(cache) || !cache.purgeExpired) continue;
      seen.add(cache);
      const pools = [...this.pools.values()].filter((p) => p.cache === cache);
      if (cache.keepStaleData && pools.some((p) => p.countUp() === 0)) continue;
      cache.purgeExpired(Math.floor(((cache.maxEntries ?? 0) * (100 - this.settings.cacheCleaningPercentage)) / 100));
    }
  }

  /** Close every socket; resolves when all are closed. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all([
      ...this.frontends.flatMap((f) => [f.udp.close(), f.tcp.close()]),
      ...this.dohFrontends.map((d) => d.close()),
      ...this.dnscryptBinds.map((d) => d.close()),
    ]);
    this.frontends.length = 0;
    await Promise.all(this.tlsFrontends.map((f) => f.tcp.close().then(() => f.tls.close())));
    this.tlsFrontends.length = 0;
    await Promise.all(this.servers.map((s) => s.close()));
    this.#started = false;
  }
}
