import { NetmaskGroup, parseAddress } from '@dnsdist-ts/dns';
import { DownstreamServer, type DownstreamServerConfig } from '../backend/downstream-server.js';
import { HealthState, runHealthCheck } from '../backend/health-check.js';
import { LeastOutstandingPolicy } from '../backend/policies/least-outstanding.js';
import type { ServerPolicy } from '../backend/policies/server-policy.js';
import { ServerPool } from '../backend/server-pool.js';
import { createUdpEndpoint } from '../io/udp-endpoint-factory.js';
import { SocketAddress } from '../query/client-address.js';
import type { DynBlockCheck, QueryCache, QueryRecorder, RulesEngine } from '../query/query-collaborators.js';
import { ProxyCounters } from '../stats/proxy-counters.js';
import { DEFAULT_ACL, DEFAULT_LOCAL, type FrontendConfig } from './frontend-config.js';
import { Logger } from './logger.js';
import { QueryProcessor, type QueryPathContext } from './query-processor.js';
import { TcpFrontend } from './tcp-frontend.js';
import { UdpFrontend } from './udp-frontend.js';

export type CachePool = ServerPool<QueryCache & { toString(): string }>;

/** Settings changed by `set*` functions, with dnsdist's defaults. */
export class ProxySettings {
  /** setUDPTimeout: seconds before an unanswered UDP query counts as a timeout. */
  udpTimeoutSeconds = 2;
  /** setTCPRecvTimeout. */
  tcpRecvTimeoutSeconds = 2;
  servFailWhenNoServer = false;
  dropEmptyQueries = false;
  /** setMaxUDPOutstanding: accepted (the slot table is always 65,536). */
  maxUDPOutstanding = 65535;
  /** Which UDP implementation frontends and backends use. */
  udpImplementation: 'auto' | 'native' | 'dgram' = 'auto';
}

/** A listener pair once started. */
export interface RunningFrontend {
  config: FrontendConfig;
  udp: UdpFrontend;
  tcp: TcpFrontend;
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
  readonly log = new Logger();
  acl = new NetmaskGroup();
  /** ACL entries given before the config ran (-a); they suppress the default ACL. */
  #aclTouched = false;
  readonly frontendConfigs: FrontendConfig[] = [];
  readonly frontends: RunningFrontend[] = [];
  readonly servers: DownstreamServer[] = [];
  readonly pools = new Map<string, CachePool>();
  defaultPolicy: ServerPolicy = new LeastOutstandingPolicy();
  rules: RulesEngine;
  recorder: QueryRecorder;
  dynBlocks: DynBlockCheck | undefined;
  readonly processor: QueryProcessor;
  /** Called once a second after the proxy's own housekeeping (the Lua `maintenance`). */
  onTick: (() => void) | undefined;
  #health = new Map<DownstreamServer, { state: HealthState; nextAt: number; running: boolean }>();
  #timer: NodeJS.Timeout | undefined;
  #lastTick = performance.now();
  #started = false;

  constructor(rules: RulesEngine, recorder: QueryRecorder) {
    this.rules = rules;
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

  /** addACL / -a: the first explicit entry replaces the default ranges. */
  addACL(mask: string): void {
    this.acl.addMask(mask);
    this.#aclTouched = true;
  }

  setACL(masks: string[]): void {
    const nmg = new NetmaskGroup();
    for (const m of masks) nmg.addMask(m);
    this.acl = nmg;
    this.#aclTouched = true;
  }

  /** Apply the default ACL if nothing set one (dnsdist does this before reading the config). */
  applyDefaultACLIfEmpty(): void {
    if (!this.#aclTouched && this.acl.size() === 0) for (const m of DEFAULT_ACL) this.acl.addMask(m);
  }

  // ---- frontends --------------------------------------------------------

  addLocal(config: FrontendConfig): void {
    this.frontendConfigs.push(config);
  }

  setLocal(config: FrontendConfig): void {
    for (let i = this.frontendConfigs.length - 1; i >= 0; i--) {
      if (!this.frontendConfigs[i]!.fromCommandLine) this.frontendConfigs.splice(i, 1);
    }
    this.frontendConfigs.push(config);
  }

  // ---- backends ---------------------------------------------------------

  /** newServer: registers the backend (and starts it when the proxy runs already). */
  async addServer(config: DownstreamServerConfig): Promise<DownstreamServer> {
    const server = new DownstreamServer(
      config,
      (s, dq, reply, cacheKey, latency, data, length) => this.processor.handleBackendAnswer(s, dq, reply, cacheKey, latency, data, length),
      (_s, dq, reply) => {
        this.counters.downstreamTimeouts++;
        this.processor.queryLost(dq, reply);
      },
    );
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
    const family = server.config.address.family;
    const endpoints = [];
    for (let i = 0; i < Math.max(1, server.config.sockets); i++) {
      endpoints.push(await createUdpEndpoint({ address: family === 4 ? '0.0.0.0' : '::', port: 0 }, this.settings.udpImplementation));
    }
    server.attachUdpEndpoints(endpoints);
    if (server.availability === 'auto') await this.#checkHealth(server, initial);
  }

  async #checkHealth(server: DownstreamServer, initial: boolean): Promise<void> {
    const h = this.#health.get(server);
    if (!h || h.running) return;
    h.running = true;
    try {
      const ok = await runHealthCheck(server);
      const changed = h.state.record(server, ok, initial);
      if (changed !== undefined && this.servers.includes(server)) {
        this.log.warn(`Marking downstream ${server.name} (${server.addressText}) as '${changed ? 'up' : 'down'}'`);
      }
    } finally {
      h.running = false;
      h.nextAt = performance.now() + server.config.checkInterval * 1000;
    }
  }

  // ---- lifecycle --------------------------------------------------------

  /** Bind every listener, open backend sockets, run the first health checks, start the 1 s tick. */
  async start(): Promise<void> {
    this.applyDefaultACLIfEmpty();
    if (this.frontendConfigs.length === 0) {
      this.frontendConfigs.push({
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
      });
    }
    // Backends first, with their first health check, so the proxy answers from its first query.
    this.#started = true;
    await Promise.all(this.servers.map((s) => this.#startServer(s, true)));
    // -l replaces the configuration's listeners.
    const cli = this.frontendConfigs.filter((f) => f.fromCommandLine);
    const toStart = cli.length > 0 ? cli : this.frontendConfigs;
    for (const fc of toStart) {
      const endpoint = await createUdpEndpoint(
        { address: fc.host, port: fc.port, reusePort: fc.reusePort },
        this.settings.udpImplementation,
      );
      const local = new SocketAddress(parseAddress(fc.host).bytes, endpoint.localPort);
      const udp = new UdpFrontend(endpoint, local, this.processor);
      let tcp: TcpFrontend;
      try {
        tcp = await TcpFrontend.listen(fc.host, endpoint.localPort, this.processor, {
          maxInFlight: fc.maxInFlight,
          maxConcurrentConnections: fc.maxConcurrentTCPConnections,
          idleTimeoutSeconds: this.settings.tcpRecvTimeoutSeconds,
          listenQueueSize: fc.tcpListenQueueSize,
        });
      } catch (err) {
        await udp.close();
        throw err;
      }
      this.frontends.push({ config: fc, udp, tcp });
      this.log.info(`Listening on ${local.toStringWithPort()}`);
    }
    this.#lastTick = performance.now();
    this.#timer = setInterval(() => this.tick(), 1000);
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
    try {
      this.onTick?.();
    } catch (err) {
      this.log.error(`Error in the maintenance tick: ${(err as Error).message}`);
    }
  }

  /** Close every socket; resolves when all are closed. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all(this.frontends.flatMap((f) => [f.udp.close(), f.tcp.close()]));
    this.frontends.length = 0;
    await Promise.all(this.servers.map((s) => s.close()));
    this.#started = false;
  }
}
