import { CONSOLE_MAC_BYTES, ConsoleServer, parseConsoleAddress, parseConsoleKey } from '../console/index.js';
import { listenError } from '../io/listen-error.js';
import { registerConstants } from '../lua/bind-constants.js';
import { frontendConfigFrom, registerListenerBindings } from '../lua/bind-listeners.js';
import { registerCacheBindings } from '../lua/bind-cache.js';
import { registerDynBlockBindings } from '../lua/bind-dynblocks.js';
import { registerFleetBindings } from '../lua/bind-fleet.js';
import { FleetSync } from '../fleet/fleet-sync.js';
import { registerCrowdSecBindings } from '../lua/bind-crowdsec.js';
import { CrowdSecBouncer } from '../crowdsec/crowdsec-bouncer.js';
import { CrowdSecWatcher } from '../crowdsec/crowdsec-watcher.js';
import type { DynamicBlocks } from '../dynblocks/index.js';
import { BlockScopeGuard } from '../dynblocks/index.js';
import { registerMiscBindings } from '../lua/bind-misc.js';
import { registerEbpfBindings } from '../lua/bind-ebpf.js';
import { ProxyEbpf } from '../ebpf/proxy-ebpf.js';
import { registerRingBindings } from '../lua/bind-rings.js';
import { registerRuleBindings } from '../lua/bind-rules.js';
import { registerScriptedPolicyBindings } from '../lua/bind-scripted-policies.js';
import { registerScriptedRuleBindings } from '../lua/bind-scripted-rules.js';
import { registerMoreRuleBindings } from '../lua/bind-rules-more.js';
import { registerIncludeBindings } from '../lua/bind-include.js';
import { registerServerBindings, serverConfigFrom } from '../lua/bind-servers.js';
import { registerTuningBindings } from '../lua/bind-tuning.js';
import { registerValueBindings } from '../lua/bind-values.js';
import { registerWebBindings } from '../lua/bind-web.js';
import { formatConsoleResult } from '../lua/console-result-format.js';
import { LuaOptions } from '../lua/lua-args.js';
import { LuaEnvironment } from '../lua/lua-environment.js';
import { LuaScriptError } from '../lua/lua-errors.js';
import { DEFAULT_CONSOLE_COMMAND_LIMITS } from '../lua/console-time-budget.js';
import { LuaRuntime } from '../lua/lua-runtime.js';
import { Rings } from '../rings/index.js';
import { RuleChains } from '../rules/index.js';
import { DnsdistProxy, sortMasks } from '../server/dnsdist-proxy.js';
import { connectProxyObservability } from '../web/proxy-observability.js';
import { WebService } from '../web/web-service.js';

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
  /** Dynamic blocks: the tables, the per-query check, rules groups and their kernel copies. */
  readonly dynBlocks: DynamicBlocks;
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
  #stopping: Promise<void> | undefined;
  /** Resolves when shutdown() is called (from Lua or a signal). */
  readonly stopped: Promise<void>;
  #resolveStopped!: () => void;

  constructor(options: AppOptions) {
    this.options = options;
    this.proxy = new DnsdistProxy((counters) => new RuleChains(counters), this.rings);
    this.rules = this.proxy.rules as RuleChains;
    if (options.verbose) this.proxy.log.verbose = true;
    if (options.udpImplementation) this.proxy.settings.udpImplementation = options.udpImplementation;
    const output = options.output ?? ((line: string) => process.stdout.write(`${line}\n`));
    this.proxy.log.sink = (level, line) => {
      if (level === 'error' && !options.output) process.stderr.write(`${line}\n`);
      else if (!options.quiet) output(line);
    };
    this.runtime = new LuaRuntime(output);
    this.env = new LuaEnvironment(this.runtime, this.proxy, options.clientMode ?? false);
    this.stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
    registerConstants(this.runtime);
    registerValueBindings(this.env);
    registerListenerBindings(this.env);
    registerServerBindings(this.env);
    registerTuningBindings(this.env);
    registerRuleBindings(this.env, this.rules);
    registerScriptedPolicyBindings(this.env, registerScriptedRuleBindings(this.env));
    registerMoreRuleBindings(this.env, this.rules, this.stopped);
    registerIncludeBindings(this.env);
    registerCacheBindings(this.env);
    registerRingBindings(this.env, this.rings);
    this.dynBlocks = registerDynBlockBindings(this.env, this.rings, this.blockScope);
    this.fleet = new FleetSync(this.dynBlocks, this.blockScope, this.proxy.log);
    registerFleetBindings(this.env, this.fleet);
    void this.stopped.then(() => this.fleet.stop());
    this.crowdsec = new CrowdSecBouncer(this.dynBlocks, this.blockScope, this.proxy.log);
    this.crowdsecWatcher = new CrowdSecWatcher(this.dynBlocks, this.proxy.log);
    registerCrowdSecBindings(this.env, this.crowdsec, this.crowdsecWatcher);
    void this.stopped.then(() => Promise.all([this.crowdsec.stop(), this.crowdsecWatcher.stop()]));
    this.ebpf = new ProxyEbpf(this.proxy, { checkConfig: options.checkConfig ?? false });
    // At stop the XDP filters are detached and the maps released (the pins stay for the next run).
    void this.stopped.then(() => this.ebpf.stop());
    registerEbpfBindings(this.env, this.ebpf);
    this.web = new WebService({
      proxy: this.proxy,
      rules: this.rules,
      controlSocket: () => this.env.console.addresses.at(-1) ?? '127.0.0.1:5199',
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
    if (options.consoleKey !== undefined) {
      parseConsoleKey(options.consoleKey, '-k');
      this.env.console.key = options.consoleKey;
      this.env.console.keyFromCommandLine = true;
    }
    for (const a of options.acls ?? []) this.proxy.addACL(a);
    for (const l of options.locals ?? []) this.proxy.addLocal(frontendConfigFrom('-l', l, new LuaOptions('-l', undefined), true));
  }

  /**
   * Run the configuration file, then check its BPF side as a whole and
   * make its pins (with checkConfig: only check). Throws LuaScriptError
   * with "file:line: reason"; a failure leaves no pin or directory behind.
   */
  async loadConfiguration(): Promise<void> {
    try {
      this.runtime.runFile(this.options.configFile);
      for (const b of this.options.backends ?? []) {
        const cfg = serverConfigFrom(b);
        this.env.pending.push(this.proxy.addServer(cfg));
      }
      await Promise.all(this.env.pending);
      this.env.pending.length = 0;
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
    await this.proxy.start();
    this.ebpf.listenersStarted();
    const log = this.proxy.log;
    log.info(`ACL allowing queries from: ${this.proxy.aclStrings().join(', ')}`);
    const con = this.env.console;
    if (con.addresses.length > 0) {
      log.info(`Console ACL allowing connections from: ${sortMasks(con.acl.toStrings()).join(', ')}`);
      const address = con.addresses[con.addresses.length - 1]!;
      const where = parseConsoleAddress(address);
      this.console = await ConsoleServer.listen({
        address,
        key: con.key !== undefined ? parseConsoleKey(con.key) : undefined,
        runner: (line, run) => this.runConsoleCommandSliced(line, run),
        acl: con.acl,
        maxConcurrentConnections: con.maxConcurrentConnections,
        maxMessageSize: con.maxMessageSize,
        logConnections: con.logConnections,
        log: (level, message) => (level === 'verbose' ? log.debug(message) : level === 'error' ? log.error(message) : log.info(message)),
      }).catch((err: unknown) => {
        throw listenError(err, `controlSocket(${JSON.stringify(address)})`, where.host, where.port, 'tcp');
      });
    }
    await this.web.start();
    this.fleet.start();
    this.crowdsec.start();
    this.crowdsecWatcher.start();
    const hasMaintenance = () => this.runtime.hasFunction('maintenance');
    this.proxy.onTick = () => {
      if (!hasMaintenance()) return;
      try {
        this.runtime.callGlobal('maintenance');
      } catch (err) {
        log.error(`Error during execution of maintenance function: ${(err as Error).message}`);
      }
    };
  }

  #syncConsole(): void {
    const c = this.console;
    if (!c) return;
    const con = this.env.console;
    Object.assign(c, {
      key: con.key !== undefined ? parseConsoleKey(con.key) : undefined,
      acl: con.acl,
      maxConcurrentConnections: con.maxConcurrentConnections,
      maxMessageSize: con.maxMessageSize,
      logConnections: con.logConnections,
    });
  }

  /**
   * One console line, as dnsdist runs it, to completion and without time
   * limits (tests and embedders); errors come back as "Error: …". The
   * console socket and the terminal use runConsoleCommandSliced.
   */
  runConsoleCommand(line: string): string {
    try {
      return this.runtime.runConsoleLine(line, formatConsoleResult, this.#maxReplyBytes());
    } catch (err) {
      const msg = err instanceof LuaScriptError ? err.message : (err as Error).message;
      return `Error: ${msg}\n`;
    }
  }

  /**
   * One console line the way the console socket and the terminal run it:
   * in slices that leave the event loop (DNS, signals) a turn every few
   * milliseconds, aborted past setConsoleCommandTimeout(), its reply cut at
   * setConsoleOutputMaxMsgSize(). Rejects with ConsoleCommandCancelledError
   * once `signal` is aborted.
   */
  runConsoleCommandSliced(line: string, options: { signal?: AbortSignal; maxReplyBytes?: number } = {}): Promise<string> {
    return this.runtime.runConsoleCommandSliced(line, formatConsoleResult, {
      ...(options.signal ? { signal: options.signal } : {}),
      maxReplyBytes: options.maxReplyBytes ?? this.#maxReplyBytes(),
      limits: { ...DEFAULT_CONSOLE_COMMAND_LIMITS, timeoutMs: this.env.console.commandTimeoutSeconds * 1000 },
    });
  }

  /** Reply text that fits in one console frame: the maximum message size less the 16-byte MAC (0: no limit). */
  #maxReplyBytes(): number {
    const max = this.env.console.maxMessageSize;
    return max > 0 ? Math.max(1, max - CONSOLE_MAC_BYTES) : 0;
  }

  /** Stop everything; idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.all([this.proxy.stop(), this.console?.close(), this.web.stop()]);
      this.#resolveStopped();
    })();
    return this.#stopping;
  }
}
