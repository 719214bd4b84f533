import {
  CONSOLE_MAC_BYTES,
  ConsoleServer,
  ConsoleSettings,
  parseConsoleAddress,
  parseConsoleKey,
} from '@dnsdist-ts/console/console/index.js';
import type { FilterMapHandles } from '@dnsdist-ts/bpf-filter';
import { listenError } from '@dnsdist-ts/dataplane/io/listen-error.js';
import { registerConstants } from '@dnsdist-ts/lua/lua/bind-constants.js';
import { registerFfiBindings } from '@dnsdist-ts/lua/lua/bind-ffi.js';
import { frontendConfigFrom, registerListenerBindings } from '@dnsdist-ts/lua/lua/bind-listeners.js';
import { registerCacheBindings } from '@dnsdist-ts/lua/lua/bind-cache.js';
import { registerDohBindings } from '@dnsdist-ts/lua/lua/bind-doh.js';
import { registerCarbonBindings } from '@dnsdist-ts/lua/lua/bind-carbon.js';
import { CarbonExporter } from '@dnsdist-ts/integrations/carbon/carbon-exporter.js';
import { registerDynBlockBindings } from '@dnsdist-ts/lua/lua/bind-dynblocks.js';
import { registerFleetBindings } from '@dnsdist-ts/lua/lua/bind-fleet.js';
import { FleetSync } from '@dnsdist-ts/integrations/fleet/fleet-sync.js';
import { registerCrowdSecBindings } from '@dnsdist-ts/lua/lua/bind-crowdsec.js';
import { CrowdSecBouncer } from '@dnsdist-ts/integrations/crowdsec/crowdsec-bouncer.js';
import { CrowdSecWatcher } from '@dnsdist-ts/integrations/crowdsec/crowdsec-watcher.js';
import type { DynamicBlocks, DynBlockQueryCheck, FastDetector } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import { BlockScopeGuard } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import { registerMiscBindings } from '@dnsdist-ts/lua/lua/bind-misc.js';
import { registerEbpfBindings } from '@dnsdist-ts/lua/lua/bind-ebpf.js';
import { ProxyEbpf } from '@dnsdist-ts/ebpf/ebpf/proxy-ebpf.js';
import { DefaultBpfFilterRegistry } from '@dnsdist-ts/ebpf/ebpf/default-bpf-filter-registry.js';
import { wireDynamicBlocks, type DynBlockWiring } from './dyn-block-wiring.js';
import { registerRingBindings } from '@dnsdist-ts/lua/lua/bind-rings.js';
import { registerRuleBindings } from '@dnsdist-ts/lua/lua/bind-rules.js';
import { registerScriptedPolicyBindings } from '@dnsdist-ts/lua/lua/bind-scripted-policies.js';
import { registerScriptedRuleBindings } from '@dnsdist-ts/lua/lua/bind-scripted-rules.js';
import { registerMoreRuleBindings } from '@dnsdist-ts/lua/lua/bind-rules-more.js';
import { registerEcsBindings } from '@dnsdist-ts/lua/lua/bind-ecs.js';
import { registerDNSCryptBindings } from '@dnsdist-ts/lua/lua/bind-dnscrypt.js';
import { registerProxyProtocolBindings } from '@dnsdist-ts/lua/lua/bind-proxy-protocol.js';
import { registerIncludeBindings } from '@dnsdist-ts/lua/lua/bind-include.js';
import { registerServerBindings, serverConfigFrom } from '@dnsdist-ts/lua/lua/bind-servers.js';
import { registerTlsBindings } from '@dnsdist-ts/lua/lua/bind-tls.js';
import { registerTuningBindings } from '@dnsdist-ts/lua/lua/bind-tuning.js';
import { registerDohClientBindings } from '@dnsdist-ts/lua/lua/bind-doh-client.js';
import { registerValueBindings } from '@dnsdist-ts/lua/lua/bind-values.js';
import { registerWebBindings } from '@dnsdist-ts/lua/lua/bind-web.js';
import { formatConsoleResult } from '@dnsdist-ts/lua/lua/console-result-format.js';
import { LuaOptions } from '@dnsdist-ts/lua/lua/lua-args.js';
import { LuaEnvironment } from '@dnsdist-ts/lua/lua/lua-environment.js';
import { LuaScriptError } from '@dnsdist-ts/lua/lua/lua-errors.js';
import { DEFAULT_CONSOLE_COMMAND_LIMITS } from '@dnsdist-ts/lua/lua/console-time-budget.js';
import { LuaRuntime } from '@dnsdist-ts/lua/lua/lua-runtime.js';
import { Rings } from '@dnsdist-ts/dataplane/rings/index.js';
import { RuleChains, type TeeActions } from '@dnsdist-ts/dataplane/rules/index.js';
import { DnsdistProxy, sortMasks } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { statsSnapshot } from '@dnsdist-ts/dataplane/stats/stats-snapshot.js';
import { connectProxyObservability } from '@dnsdist-ts/web/web/proxy-observability.js';
import { WebService } from '@dnsdist-ts/web/web/web-service.js';
import { registerWorkerBindings } from '@dnsdist-ts/lua/lua/bind-workers.js';
import { WorkerGuards } from '@dnsdist-ts/workers/workers/worker-guards.js';
import { mirrorWorkerListeners } from '@dnsdist-ts/workers/workers/worker-listeners.js';
import { WorkerPool } from '@dnsdist-ts/workers/workers/worker-pool.js';
import { dataPlaneWorkerEntry } from './worker-entry-url.js';
import { ConfigChangeRunner } from '@dnsdist-ts/workers/workers/worker-config-log.js';
import { WorkerLuaGlobals } from '@dnsdist-ts/workers/workers/worker-lua-globals.js';
import { ClientTableHook } from '@dnsdist-ts/workers/workers/shared-client-buckets.js';
import { WorkerStatePull } from '@dnsdist-ts/workers/workers/worker-state-pull.js';
import { WorkerFastDetection } from '@dnsdist-ts/workers/workers/worker-fast-detection.js';
import { WorkerSettings } from '@dnsdist-ts/lua/lua/worker-settings.js';
import { SharedProcessWideCounts } from '@dnsdist-ts/workers/workers/shared-process-counts.js';
import { SharedTokenBuckets, withConfigurationLimiters } from '@dnsdist-ts/workers/workers/shared-token-buckets.js';

/** What the command line contributes before the configuration runs. */
export interface AppOptions {
  configFile: string;
  /** -l: listeners replacing the configuration's. */
  locals?: string[];
  /** -a: ACL entries added before the configuration (suppressing the default ACL). */
  acls?: string[];
  /** -k: console key, wins over setKey in the configuration. */
  consoleKey?: string;
  /** Trailing arguments: backend addresses. */
  backends?: string[];
  verbose?: boolean;
  /** Parse the config only for the console settings (dnsdist -c / -e). */
  clientMode?: boolean;
  /** Where print() and log lines go (tests capture them). */
  output?: (line: string) => void;
  /** Run the configuration quietly (only print() output and errors), as --check-config does. */
  quiet?: boolean;
  /**
   * --check-config: the configuration is only checked. Its BPF side is
   * validated (pin paths, maps already pinned) but nothing is pinned and
   * no directory is made; maps already pinned are read into private copies.
   */
  checkConfig?: boolean;
  udpImplementation?: 'auto' | 'native' | 'dgram';
  /** --workers: data-plane workers (wins over setWorkers() in the configuration). */
  workers?: number;
  /**
   * 'main' (default): the program, which with one worker answers queries
   * itself and with more is their control plane; 'worker': a data-plane
   * worker (worker-entry/data-plane-worker.ts), which answers queries only.
   */
  role?: 'main' | 'worker';
  /** A worker's shared rate-limiter buckets (workers/shared-token-buckets.ts), from the control plane. */
  qpsBuckets?: SharedArrayBuffer;
  /** A worker's MaxQPSIPRule tables (workers/shared-client-buckets.ts), from the control plane, in creation order. */
  clientTables?: SharedArrayBuffer[];
  /** A worker's BPF filters: the control plane's maps for the configuration's newBPFFilter calls, in order. */
  bpfFilters?: FilterMapHandles[];
  /** A worker's share of the process-wide counts (workers/shared-process-counts.ts): roundrobin, TCP connections. */
  processCounts?: { buffer: SharedArrayBuffer; workers: number; worker: number };
}

/**
 * dnsdist-ts as a program: one Lua runtime, one proxy, the console. Loads
 * the configuration, starts everything, runs the once-a-second
 * maintenance, and stops cleanly.
 */
export class DnsdistApp {
  readonly proxy: DnsdistProxy;
  readonly runtime: LuaRuntime;
  readonly env: LuaEnvironment;
  readonly options: AppOptions;
  readonly rules: RuleChains;
  readonly rings = new Rings();
  console: ConsoleServer | undefined;
  /** The console as configured (controlSocket, setKey, …, -k); the Lua bindings fill it, `console` runs from it. */
  readonly consoleSettings = new ConsoleSettings();
  /** Dynamic blocks: the tables, the per-query check, rules groups and their kernel copies. */
  readonly dynBlocks: DynamicBlocks;
  /** setDynBlocksFastDetection's detector and the per-query check it watches from (workers/worker-fast-detection.ts). */
  readonly fastDetection: { readonly detector: FastDetector; readonly check: DynBlockQueryCheck };
  /** With workers: their fast-detection candidates, turned into passes here. */
  workerFastDetection: WorkerFastDetection | undefined;
  /** The dynamic blocks with the per-query check, the rules groups and the fast detector. */
  readonly dynBlockWiring: DynBlockWiring;
  /** setDefaultBPFFilter's filter and kernel sink: set by `ebpf`, followed by the dynamic blocks. */
  readonly defaultBpfFilter: DefaultBpfFilterRegistry;
  /** How wide a block from outside the configuration may be: the block API, the console, later a fleet bus. */
  readonly blockScope = new BlockScopeGuard();
  /** Fleet-wide dynamic blocks over Redis (setDynBlocksSync); idle unless configured. */
  readonly fleet: FleetSync;
  /** CrowdSec decisions as dynamic blocks (setCrowdSecBouncer); idle unless configured. */
  readonly crowdsec: CrowdSecBouncer;
  /** This node's blocks reported to CrowdSec as alerts (setCrowdSecWatcher); idle unless configured. */
  readonly crowdsecWatcher: CrowdSecWatcher;
  /** BPF filters, socket filters, the XDP filter and the kernel sink for dynamic blocks. */
  readonly ebpf: ProxyEbpf;
  /** Webserver, API, /metrics, dashboard, and the providers they read (`web.providers`). */
  readonly web: WebService;
  /** How many data-plane workers (setWorkers, --workers). */
  readonly workerSettings = new WorkerSettings();
  /** Rate limiters (QPSAction, MaxQPSRule, newServer{qps=…}…) the configuration created: one shared bucket each with workers. */
  qpsLimiterCount = 0;
  /** The data-plane workers, when there are more than one (started by start()). */
  workers: WorkerPool<AppOptions> | undefined;
  /** With workers: the control plane's copy of their rings and what it sends them of the dynamic blocks. */
  workerState: WorkerStatePull | undefined;
  /** The TeeActions the configuration and the console created, in order (summed over the workers, tee-actions.ts). */
  readonly tees: TeeActions;
  /** Refuses what would mean something else with several workers (not in workers or client mode). */
  readonly #guards: WorkerGuards | undefined;
  /** With workers: the control plane's Lua globals that changed, copied to them (workers/worker-lua-globals.ts). */
  #luaGlobals: WorkerLuaGlobals | undefined;
  /** Console commands begun and not ended: their globals are looked at when they end, not by a tick between two slices. */
  #consoleCommandsRunning = 0;
  /** A data-plane worker's runner of the console's configuration changes (workers/worker-config-log.ts). */
  readonly configChanges: ConfigChangeRunner | undefined;
  /** MaxQPSIPRule tables shared by the workers: counted here, taken there (workers/shared-client-buckets.ts). */
  readonly clientTableHook: ClientTableHook | undefined;
  /** The tables for the configuration's MaxQPSIPRules (control plane with workers). */
  clientTables: SharedArrayBuffer[] = [];
  /** The maps of the configuration's BPF filters, which the workers take for theirs (control plane with workers). */
  bpfFilters: FilterMapHandles[] = [];
  /** carbonServer(): periodic exports to Carbon (Graphite) servers. */
  readonly carbon: CarbonExporter;
  #stopping: Promise<void> | undefined;
  /** Resolves when shutdown() is called (from Lua or a signal). */
  readonly stopped: Promise<void>;
  #resolveStopped!: () => void;

  constructor(options: AppOptions) {
    this.options = options;
    this.proxy = new DnsdistProxy((counters) => new RuleChains(counters), this.rings);
    this.rules = this.proxy.rules as RuleChains;
    const pc = options.processCounts;
    // Before the bindings: the roundrobin policy takes its position from it.
    if (pc) this.proxy.processWide = new SharedProcessWideCounts(pc.buffer, pc.workers, pc.worker);
    if (options.verbose) this.proxy.log.verbose = true;
    if (options.udpImplementation) this.proxy.settings.udpImplementation = options.udpImplementation;
    const output = options.output ?? ((line: string) => process.stdout.write(`${line}\n`));
    this.proxy.log.sink = (level, line) => {
      if (level === 'error' && !options.output) process.stderr.write(`${line}\n`);
      else if (!options.quiet) output(line);
    };
    this.runtime = new LuaRuntime(output);
    this.#guards = options.role === 'worker' || options.clientMode ? undefined : new WorkerGuards(this.runtime);
    this.clientTableHook = options.clientMode ? undefined : new ClientTableHook();
    this.configChanges =
      options.role === 'worker'
        ? new ConfigChangeRunner(this.runtime, this.clientTableHook, { shareFilters: (given) => this.ebpf.shareFilters(given) })
        : undefined;
    this.env = new LuaEnvironment(this.runtime, this.proxy, this.consoleSettings, options.clientMode ?? false);
    this.workerSettings.fromCommandLine = options.workers;
    this.stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
    registerConstants(this.runtime);
    registerValueBindings(this.env);
    registerListenerBindings(this.env);
    registerTlsBindings(this.env);
    registerServerBindings(this.env);
    registerTuningBindings(this.env);
    registerDohClientBindings(this.env, this.env.proxy.settings.dohClient);
    registerRuleBindings(this.env, this.rules);
    registerDohBindings(this.env);
    registerScriptedPolicyBindings(this.env, registerScriptedRuleBindings(this.env));
    this.tees = registerMoreRuleBindings(this.env, this.rules, this.stopped);
    registerEcsBindings(this.env);
    registerDNSCryptBindings(this.env);
    registerProxyProtocolBindings(this.env);
    registerIncludeBindings(this.env);
    registerCacheBindings(this.env);
    registerRingBindings(this.env, this.rings);
    const ffi = registerFfiBindings(this.env);
    this.defaultBpfFilter = new DefaultBpfFilterRegistry(this.proxy.log);
    this.dynBlockWiring = wireDynamicBlocks(this.proxy, this.defaultBpfFilter);
    this.dynBlocks = this.dynBlockWiring.blocks;
    registerDynBlockBindings(this.env, this.dynBlockWiring, this.rings, this.blockScope, ffi);
    this.fastDetection = { detector: this.dynBlockWiring.fast, check: this.dynBlockWiring.check };
    this.fleet = new FleetSync(this.dynBlocks, this.blockScope, this.proxy.log);
    registerFleetBindings(this.env, this.fleet);
    void this.stopped.then(() => this.fleet.stop());
    this.crowdsec = new CrowdSecBouncer(this.dynBlocks, this.blockScope, this.proxy.log);
    this.crowdsecWatcher = new CrowdSecWatcher(this.dynBlocks, this.proxy.log);
    registerCrowdSecBindings(this.env, this.crowdsec, this.crowdsecWatcher);
    void this.stopped.then(() => Promise.all([this.crowdsec.stop(), this.crowdsecWatcher.stop()]));
    this.ebpf = new ProxyEbpf(this.proxy, this.defaultBpfFilter, { checkConfig: options.checkConfig ?? false });
    // At stop the XDP filters are detached and the maps released (the pins stay for the next run).
    void this.stopped.then(() => this.ebpf.stop());
    registerEbpfBindings(this.env, this.ebpf);
    this.web = new WebService({
      proxy: this.proxy,
      rules: this.rules,
      controlSocket: () => this.consoleSettings.addresses.at(-1) ?? '127.0.0.1:5199',
    });
    registerWebBindings(this.env, this.web);
    connectProxyObservability(this.web.providers, { dynBlocks: this.dynBlocks, ebpf: this.ebpf, blockScope: this.blockScope });
    this.web.providers.fleet = this.fleet;
    this.web.providers.crowdsec = this.crowdsec;
    this.web.providers.crowdsecWatcher = this.crowdsecWatcher;
    registerMiscBindings(this.env, {
      shutdown: () => void this.stop(),
      dynBlockNmgSize: () => this.dynBlocks.clients.size,
      consoleChanged: () => this.#syncConsole(),
    });
    registerWorkerBindings(this.env, {
      settings: this.workerSettings,
      status: () => this.workers?.status(),
      restart: (n) => this.workers?.terminate(n) ?? Promise.resolve(),
    });

    const proxy = this.proxy;
    this.carbon = new CarbonExporter(
      () => ({
        stats: statsSnapshot({ counters: proxy.counters, startedAt: proxy.startedAt, dynBlockNmgSize: () => this.dynBlocks.clients.size }),
        servers: proxy.servers,
        frontends: proxy.frontends,
        tlsFrontends: proxy.tlsFrontends,
        dohFrontends: proxy.dohFrontends,
        dnscryptBinds: proxy.dnscryptBinds,
        pools: proxy.pools,
      }),
      proxy.log,
    );
    proxy.carbon = this.carbon;
    registerCarbonBindings(this.env, this.carbon);
    if (options.consoleKey !== undefined) {
      parseConsoleKey(options.consoleKey, '-k');
      this.consoleSettings.key = options.consoleKey;
      this.consoleSettings.keyFromCommandLine = true;
    }
    for (const a of options.acls ?? []) this.proxy.addCommandLineACL(a);
    for (const l of options.locals ?? []) this.proxy.addLocal(frontendConfigFrom('-l', l, new LuaOptions('-l', undefined), true));
  }

  /**
   * Run the configuration file, then check its BPF side as a whole and
   * make its pins (with checkConfig: only check). Throws LuaScriptError
   * with "file:line: reason"; a failure leaves no pin or directory behind.
   */
  async loadConfiguration(): Promise<void> {
    try {
      // Rate limiters the configuration creates: shared by every worker (a worker), counted to size the buffer (main).
      const buckets = this.options.qpsBuckets ? new SharedTokenBuckets(this.options.qpsBuckets) : undefined;
      this.clientTableHook?.begin(this.options.clientTables);
      this.ebpf.shareFilters(this.options.bpfFilters);
      this.qpsLimiterCount = withConfigurationLimiters(buckets, () => {
        this.runtime.runFile(this.options.configFile);
        for (const b of this.options.backends ?? []) {
          const cfg = serverConfigFrom(b);
          this.env.pending.push(this.proxy.addServer(cfg));
        }
      });
      await Promise.all(this.env.pending);
      this.env.pending.length = 0;
      if (this.options.role === 'worker') {
        this.clientTableHook?.begin();
        this.ebpf.shareFilters();
        return;
      }
      if (this.workerSettings.count > 1) {
        this.clientTables = this.clientTableHook?.newTables() ?? [];
        // Unpinned filters too: a worker's newBPFFilter takes these maps instead of making copies nothing reads.
        this.bpfFilters = this.ebpf.takeSharedFilters();
      } else {
        this.clientTableHook?.begin();
        this.ebpf.shareFilters();
      }
      this.#guards?.configurationDone(this.workerSettings.count, this.options.configFile);
      this.ebpf.configurationLoaded();
    } catch (err) {
      this.ebpf.abandonStartup();
      throw err;
    }
  }

  /**
   * Start listeners, backends, the console and the maintenance tick. When
   * it fails, the pins and directories this start made are removed.
   */
  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (err) {
      this.ebpf.abandonStartup();
      throw err;
    }
  }

  async #start(): Promise<void> {
    this.env.configurationDone = true;
    if (this.options.role === 'worker') {
      // A data-plane worker answers queries; everything else is the control plane's.
      await this.proxy.start();
      return;
    }
    const log = this.proxy.log;
    // What the configuration left in the Lua globals is what each worker has too: changes from now on are copied.
    if (this.workerSettings.count > 1) this.#luaGlobals = new WorkerLuaGlobals(this.runtime);
    // The console listens before the DNS listeners, as in dnsdist: a client that saw the DNS port
    // open can use it at once.
    const con = this.consoleSettings;
    if (con.addresses.length > 0) {
      log.info(`Console ACL allowing connections from: ${sortMasks(con.acl.toStrings()).join(', ')}`);
      const address = con.addresses[con.addresses.length - 1]!;
      const where = parseConsoleAddress(address);
      this.console = await ConsoleServer.listen({
        address,
        ...con.serverOptions(),
        runner: (line, run) => this.runConsoleCommandSliced(line, run),
        log: (level, message) => (level === 'verbose' ? log.debug(message) : level === 'error' ? log.error(message) : log.info(message)),
      }).catch((err: unknown) => {
        throw listenError(err, `controlSocket(${JSON.stringify(address)})`, where.host, where.port, 'tcp');
      });
    }
    try {
      if (this.workerSettings.count > 1) await this.#startWorkers();
      else await this.proxy.start();
    } catch (err) {
      await this.console?.close();
      throw err;
    }
    this.ebpf.listenersStarted();
    log.info(`ACL allowing queries from: ${this.proxy.aclStrings().join(', ')}`);
    // The webserver last: "Webserver launched" is the line scripts (and the tests) take for "ready".
    await this.web.start();
    this.carbon.start();
    this.fleet.start();
    this.crowdsec.start();
    this.crowdsecWatcher.start();
    const hasMaintenance = () => this.runtime.hasFunction('maintenance');
    this.proxy.onTick = () => {
      if (hasMaintenance()) {
        // With workers, the changes it makes are recorded and run in every worker after it (maintenance-changes.ts).
        const recording = this.#guards?.beginMaintenance() ?? false;
        try {
          this.runtime.callGlobal('maintenance');
        } catch (err) {
          log.error(`Error during execution of maintenance function: ${(err as Error).message}`);
        }
        const calls = recording ? this.#guards!.maintenanceDone() : [];
        if (calls.length > 0 && this.workers) {
          void this.workers.applyConsoleChange(calls.join('\n'), false, this.consoleSettings.commandTimeoutSeconds * 1000, {
            source: 'maintenance()',
          });
        }
      }
      // maintenance(), a health check's or the webserver's Lua may have set globals: the workers get them.
      if (this.#luaGlobals && this.workers && this.#consoleCommandsRunning === 0) {
        const diff = this.#luaGlobals.diff();
        for (const line of this.#luaGlobals.warnings(diff)) log.warn(line);
        void this.workers.sendLuaGlobals(diff.changed);
      }
    };
  }

  /**
   * The control plane of N workers: backends and their health checks
   * here, listeners in the workers. The first worker binds (a bind error
   * stops start-up naming the listener), the others join on its ports.
   */
  async #startWorkers(): Promise<void> {
    const proxy = this.proxy;
    await proxy.start(true);
    const configured = proxy.listenerConfigs().map((fc) => fc.port);
    mirrorWorkerListeners(proxy, { ports: configured, kinds: [] });
    const options = { ...this.options, clientTables: this.clientTables, bpfFilters: this.bpfFilters };
    const pool = new WorkerPool(this.workerSettings.count, proxy, options, this.qpsLimiterCount, dataPlaneWorkerEntry());
    this.workers = pool;
    pool.luaGlobals = this.#luaGlobals;
    // Rings read across workers and the dynamic-block table sent to them (worker-state-pull.ts).
    const state = new WorkerStatePull(pool.count, {
      rings: this.rings,
      dynBlocks: this.dynBlocks,
      servers: () => proxy.servers,
      log: proxy.log,
      tees: this.tees,
    });
    this.workerState = state;
    const fast = new WorkerFastDetection(this.fastDetection.detector, pool.count, () => state.pull());
    this.workerFastDetection = fast;
    pool.onWorkerListening = (index, worker) => {
      state.workerStarted(index, worker);
      fast.workerStarted(index, worker);
    };
    void this.stopped.then(() => state.stop());
    // The socket filters are the control plane's, the sockets the workers' (worker-socket-filters.ts).
    this.ebpf.sendSocketFiltersTo((plan) => pool.socketFilters.send(plan));
    const bound = await pool.start();
    // Port 0 became a real port: the control plane shows what the workers bound.
    proxy.frontends.length = 0;
    const locals = mirrorWorkerListeners(proxy, bound);
    pool.listenersMirrored();
    pool.sync();
    // The workers bound quietly: what dnsdist logs of each UDP socket's buffers is logged here, once per listener.
    const buffers = proxy.udpBufferRequest();
    for (const local of locals) {
      proxy.logUdpBuffers(buffers, local.toStringWithPort());
      proxy.log.info(`Listening on ${local.toStringWithPort()}`);
    }
    // A DNSCrypt listener's UDP socket takes the same sizes (its "Listening on" line came with the mirror above).
    for (const bind of proxy.dnscryptBinds) proxy.logUdpBuffers(buffers, bind.local.toStringWithPort());
    proxy.log.info(`${pool.count} data-plane workers answer queries`);
  }

  #syncConsole(): void {
    const c = this.console;
    if (!c) return;
    // The server reads these on each accept or frame: a change applies from the next one.
    Object.assign(c, this.consoleSettings.serverOptions());
  }

  /**
   * One console line, as dnsdist runs it, to completion and without time
   * limits (tests and embedders); errors come back as "Error: …". The
   * console socket and the terminal use runConsoleCommandSliced.
   */
  runConsoleCommand(line: string): string {
    // A sliced command may be between two slices: its note of a change is kept for it.
    const sliced = this.#guards?.takeChange() ?? false;
    let failed = true;
    this.#beginConsoleCommand();
    try {
      const reply = this.runtime.runConsoleLine(line, formatConsoleResult, this.#maxReplyBytes());
      failed = false;
      return reply;
    } catch (err) {
      const msg = err instanceof LuaScriptError ? err.message : (err as Error).message;
      return `Error: ${msg}\n`;
    } finally {
      // The workers run it too; divergences are logged (runConsoleCommandSliced also adds them to the reply).
      void this.#applyInWorkers(line, failed);
      if (sliced) this.#guards?.noteChange();
      this.workers?.configurationMayHaveChanged();
    }
  }

  /** The last sliced console command's reply, settled (for the order of replies). */
  #lastConsoleReply: Promise<unknown> = Promise.resolve();

  #beginConsoleCommand(): void {
    this.#consoleCommandsRunning++;
    this.#guards?.beginConsoleCommand();
    if (this.workers) {
      this.clientTableHook?.begin();
      this.ebpf.shareFilters();
    }
  }

  /**
   * With workers, a console command that changed the configuration runs in
   * each of them too, and the Lua globals it changed are copied to them
   * (a function or userdata cannot be: a command that assigned one runs
   * in the workers as well). Resolves with the divergences once the
   * workers have both.
   */
  #applyInWorkers(line: string, failed: boolean): Promise<string[]> {
    this.#consoleCommandsRunning = Math.max(0, this.#consoleCommandsRunning - 1);
    const changed = this.#guards?.takeChange() ?? false;
    const mapWriteFailures = this.#guards?.takeMapWriteFailures() ?? [];
    this.#guards?.consoleCommandEnded();
    // New DNSCrypt certificates went to the workers as the command made them: the reply waits until they use them.
    // So do socket filters attached or detached (getBind(n):attachFilter…): the reply waits until the workers' sockets have them.
    const keys = this.workers ? Promise.all([this.workers.keys.delivered(), this.workers.socketFilters.delivered()]) : Promise.resolve();
    if (!this.workers) return keys.then(() => []);
    const globals = this.#luaGlobals?.diff();
    if (!changed && !globals?.changed.length && !globals?.uncopiable.length) return keys.then(() => []);
    const ran =
      changed || (globals?.uncopiable.length ?? 0) > 0
        ? this.workers.applyConsoleChange(line, failed, this.consoleSettings.commandTimeoutSeconds * 1000, {
            clientTables: this.clientTableHook?.newTables() ?? [],
            bpfFilters: this.ebpf.takeSharedFilters(),
            mapWriteFailures,
          })
        : Promise.resolve([]);
    // Sent after the command: a worker sets them once it has run it, so the control plane's values win.
    const copied = this.workers.sendLuaGlobals(globals?.changed ?? []);
    return Promise.all([ran, copied, keys]).then(([reports]) => reports);
  }

  /**
   * One console line the way the console socket and the terminal run it:
   * in slices that leave the event loop (DNS, signals) a turn every few
   * milliseconds, aborted past setConsoleCommandTimeout(), its reply cut at
   * setConsoleOutputMaxMsgSize(). Rejects with ConsoleCommandCancelledError
   * once `signal` is aborted.
   */
  runConsoleCommandSliced(line: string, options: { signal?: AbortSignal; maxReplyBytes?: number } = {}): Promise<string> {
    let inWorkers: Promise<string[]> = Promise.resolve([]);
    const earlier = this.#lastConsoleReply;
    const reply = this.runtime
      .runConsoleCommandSliced(line, formatConsoleResult, {
        ...(options.signal ? { signal: options.signal } : {}),
        maxReplyBytes: options.maxReplyBytes ?? this.#maxReplyBytes(),
        limits: { ...DEFAULT_CONSOLE_COMMAND_LIMITS, timeoutMs: this.consoleSettings.commandTimeoutSeconds * 1000 },
        onStart: () => this.#beginConsoleCommand(),
        onDone: (failed) => (inWorkers = this.#applyInWorkers(line, failed)),
      })
      .then(async (text) => {
        // The reply waits for the workers: once it is printed, every worker answers with the change.
        const reports = await inWorkers;
        // Commands run one at a time, but the next one may start while this one's workers confirm: its
        // reply still comes after the earlier one's, as from dnsdist's one console thread.
        await earlier;
        return reports.length > 0 ? `${text}${reports.map((r) => `Error: ${r}\n`).join('')}` : text;
      })
      .finally(() => this.workers?.configurationMayHaveChanged());
    this.#lastConsoleReply = reply.catch(() => undefined);
    return reply;
  }

  /** Reply text that fits in one console frame: the maximum message size less the 16-byte MAC (0: no limit). */
  #maxReplyBytes(): number {
    const max = this.consoleSettings.maxMessageSize;
    return max > 0 ? Math.max(1, max - CONSOLE_MAC_BYTES) : 0;
  }

  /** Stop everything; idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.carbon.stop();
      await Promise.all([this.workers?.stop(), this.proxy.stop(), this.console?.close(), this.web.stop()]);
      this.#resolveStopped();
    })();
    return this.#stopping;
  }
}
