/**
 * What a configuration may not (yet) do with more than one data-plane
 * worker. Each worker runs the configuration in its own Lua state and owns
 * its own listeners, rings, caches and limiters; the control plane keeps
 * the console, health checks and dynamic blocks. Some dnsdist functions
 * would then mean something different from dnsdist's single process (a QPS
 * limit per worker instead of in total, a console rule added to a chain
 * no query goes through). Rather than be silently wrong they are refused with N > 1,
 * naming the function and the line that used it. docs/architecture.md says
 * which of them are still to come.
 */
import { LuaBindingError, LuaScriptError } from '@dnsdist-ts/lua/lua/lua-errors.js';
import type { LuaBinding, LuaRuntime } from '@dnsdist-ts/lua/lua/lua-runtime.js';
import { isObjectMaker, MaintenanceChanges, OBJECT_GETTERS, READ_ONLY_METHODS } from './maintenance-changes.js';
import { CONTROL_PLANE_MAP_WRITES, MapWriteOutcomes, type MapWriteFailure } from './control-plane-map-writes.js';

/** Functions whose meaning would change with several workers, and why. */
export const REFUSED_WITH_WORKERS: Readonly<Record<string, string>> = (() => {
  const table: Record<string, string> = {};
  // The ring readers, dynamic blocks and their fast detection work across workers (worker-rings.ts,
  // worker-dyn-blocks.ts, worker-fast-detection.ts).
  // QPSAction, MaxQPSRule, QPSPoolAction and newServer{qps=…} share one bucket across workers (shared-token-buckets.ts),
  // MaxQPSIPRule a per-client table (shared-client-buckets.ts).
  // addTLSLocal, addDOHLocal and addDNSCryptBind listeners are opened in every worker with SO_REUSEPORT
  // (worker-listeners.ts); the DNSCrypt certificates are the control plane's (worker-keys.ts).
  return table;
})();

/**
 * Methods refused with workers in the configuration and at run time alike:
 * none today (getBind(n):attachFilter/detachFilter act in every worker, worker-socket-filters.ts).
 */
export const REFUSED_METHODS_WITH_WORKERS: Readonly<Record<string, string>> = {};

/** Objects whose methods are refused at run time even at the console: what they hold is each worker's own. */
export const REFUSED_CLASSES_AT_RUN_TIME: Readonly<Record<string, string>> = {};

/** Why `name` ("f" or "Class:method") is refused at run time with workers even at the console, or undefined. */
export function refusedAtRunTime(name: string): string | undefined {
  const colon = name.indexOf(':');
  if (colon >= 0) return REFUSED_CLASSES_AT_RUN_TIME[name.slice(0, colon)];
  return REFUSED_WITH_WORKERS[name];
}

/**
 * Functions that stay right in the control plane with workers:
 * they read the summed counters, the control plane's health state and
 * settings, or act on the kernel maps every worker shares. Any other
 * dnsdist function changes the configuration: at the console it runs and
 * the command is then run in every worker too (worker-config-log.ts);
 * from maintenance() it is recorded and sent to every worker
 * (maintenance-changes.ts); elsewhere at run time (a health check's Lua)
 * it would change only the control plane's copy and is refused with N > 1.
 * getPool() is allowed for its cache: each PacketCache method acts on, or
 * sums, every worker's copy (worker-caches.ts). Constructors
 * (names starting with a capital: selectors, actions) build values and are
 * allowed, as are the new… makers but newServer (maintenance-changes.ts
 * isObjectMaker); the methods of objects are checked by class (below).
 */
export const RUNTIME_ALLOWED_WITH_WORKERS: ReadonlySet<string> = new Set([
  'dumpStats',
  'getStatisticsCounters',
  'showServers',
  'getServer',
  'getServers',
  'showRules',
  'showResponseRules',
  'showCacheHitResponseRules',
  'showSelfAnsweredResponseRules',
  'showBinds',
  // It names a listener (address, TLS provider); its socket filter is attached in every worker (worker-socket-filters.ts).
  'getBind',
  'showACL',
  // The workers follow the control plane's ACL (WorkerPool sends it on change).
  'setACL',
  'addACL',
  'rmACL',
  'setACLFromFile',
  'showVersion',
  'showWorkers',
  'restartWorker',
  'shutdown',
  'showConsoleACL',
  'addConsoleACL',
  'setConsoleACL',
  'setConsoleConnectionsLogging',
  'setConsoleMaximumConcurrentConnections',
  'setConsoleOutputMaxMsgSize',
  'setConsoleCommandTimeout',
  'setKey',
  'makeKey',
  'testCrypto',
  'infolog',
  'warnlog',
  'errlog',
  'vinfolog',
  'setVerbose',
  'getVerbose',
  'setVerboseHealthChecks',
  'newBPFFilter',
  'newDynBPFFilter',
  'bpfUnavailable',
  'showSecurityStatus',
  'newCA',
  'newNMG',
  'newSuffixMatchNode',
  'newDNSName',
  'newQPSLimiter',
  'showWebserverConfig',
  'showPools',
  // DoT and DoH listeners: their counters read the workers' live (live-counters.ts); their reloads, being
  // console changes, run in every worker.
  'showTLSContexts',
  'showTLSErrorCounters',
  'getTLSContext',
  'getTLSFrontend',
  'getTLSFrontendCount',
  'getDOHFrontend',
  'getDOHFrontendCount',
  'showDOHFrontends',
  'showDOHResponseCodes',
  // DNSCrypt: the files are written once, here; the certificates are the control plane's, sent to every worker
  // whenever they change (worker-keys.ts), from the console or from maintenance().
  'generateDNSCryptProviderKeys',
  'generateDNSCryptCertificate',
  'printDNSCryptProviderFingerprint',
  // An OCSP response file is written once, here, as the DNSCrypt files are; a reload of the DoT contexts reads it everywhere.
  'generateOCSPResponse',
  'getDNSCryptBind',
  'getDNSCryptBindCount',
  'showDNSCryptBinds',
  // It reads the query rules' action: a TeeAction's statistics are the workers' summed (tee-actions.ts).
  'getAction',
  // For getPool(n):getCache(): the pool's other methods stay refused (ServerPool is not an allowed class).
  'getPool',
  // The rings are read across workers (worker-rings.ts).
  'topClients',
  'topQueries',
  'topResponses',
  'topSlow',
  'topBandwidth',
  'showResponseLatency',
  'grepq',
  'getResponseRing',
  'getRespRing',
  'exceedQRate',
  'exceedQTypeRate',
  'exceedServFails',
  'exceedNXDOMAINs',
  'exceedRespByterate',
  'statNodeRespRing',
  // The control plane's block table is the one of record; every change reaches the workers (worker-dyn-blocks.ts).
  'dynBlockRulesGroup',
  'addDynBlocks',
  'addDynBlockSMT',
  'addDynamicBlock',
  'showDynBlocks',
  'clearDynBlocks',
  'getDynamicBlocks',
  'getDynamicBlocksSMT',
  'setDynBlocksAction',
  'setDynBlocksPurgeInterval',
  // The workers report candidates to the control plane's detector, which follows its setting (worker-fast-detection.ts).
  'setDynBlocksFastDetection',
  // Fleet sync and CrowdSec act on the control plane's table, which the workers follow.
  'setDynBlocksSync',
  'showDynBlocksSync',
  'setCrowdSecBouncer',
  'setCrowdSecWatcher',
  'showCrowdSecBouncer',
]);

/**
 * Objects whose methods stay right at run time with workers: kernel maps
 * every worker shares, immutable values, and the DNS header a health
 * check's checkFunction gets (health checks run in the control plane).
 */
export const RUNTIME_ALLOWED_CLASSES: ReadonlySet<string> = new Set([
  'BPFFilter',
  'DynBPFFilter',
  'ComboAddress',
  'DNSName',
  'DNSHeader',
  'DNSRule',
  // Dynamic-block groups are applied in the control plane (maintenance()), over every worker's rings.
  'DynBlockRulesGroup',
  'StatNode',
  'DNSAction',
  'DNSResponseAction',
  'DNSDistRuleAction',
  'ServerPolicy',
  'SVCRecordParameters',
  // Its statistics are the workers' copies' summed, its console methods act on every copy (worker-caches.ts).
  'PacketCache',
  // Its statistics are the workers' copies' summed (tee-actions.ts, worker-state-pull.ts).
  'TeeAction',
  // The control plane's certificates are the workers' (worker-keys.ts).
  'DNSCryptContext',
  'DNSCryptCertificatePair',
  'DNSCryptCert',
]);

/** Backend methods that stay right: up/down is decided in the control plane and followed by every worker. */
export const RUNTIME_ALLOWED_METHODS: ReadonlySet<string> = new Set([
  'Server:setUp',
  'Server:setDown',
  'Server:setAuto',
  'Server:isUp',
  'Server:getName',
  'Server:getNameWithAddr',
  'Server:getOutstanding',
  'Server:getLatency',
  'Server:getPools',
  'Server:getID',
  'ServerPool:getCache',
  'ServerPool:getECS',
  'ClientState:toString',
  // The control plane's filters, attached by every worker to its own sockets (worker-socket-filters.ts).
  'ClientState:attachFilter',
  'ClientState:detachFilter',
  'ClientState:getEffectiveTLSProvider',
  'TLSFrontend:getAddressAndPort',
  'TLSFrontend:toString',
  'DOHFrontend:getAddressAndPort',
  'DOHFrontend:getTLSContext',
  // Ticket keys are the control plane's, sent to every worker when they change (worker-keys.ts).
  'TLSContext:rotateTicketsKey',
  'TLSContext:loadTicketsKeys',
  'TLSFrontend:rotateTicketsKey',
  'TLSFrontend:loadTicketsKeys',
  'DOHFrontend:rotateTicketsKey',
  'DOHFrontend:loadTicketsKeys',
  'TLSCtx:rotateTicketsKey',
  'TLSCtx:loadTicketsKeys',
  'TLSCtx:getTicketsKeysCount',
  'TLSCtx:getTicketsKeyRotationDelay',
  'TLSCtx:getNextTicketsKeyRotation',
]);

/** Where a guarded function was first called. */
export interface GuardedUse {
  name: string;
  /** "file:line" as Lua positions errors. */
  where: string;
}

/**
 * Wraps the runtime's dnsdist functions, as they are registered, to note
 * the configuration's first use of each refused one and, with several
 * workers, to refuse at run time every change the workers would not see.
 * Installed before the bindings are registered, since setWorkers() may come
 * after the functions it affects; configurationDone() then decides once the
 * count is known. With one worker the wrappers only pass calls through.
 */
export class WorkerGuards {
  readonly #runtime: LuaRuntime;
  readonly #uses = new Map<string, GuardedUse>();
  #workers = 1;
  #configurationDone = false;
  #changed = false;
  /** maintenance()'s changes, as text for the workers; where objects came from. */
  #maintenance: MaintenanceChanges;
  /** A console command's kernel-map writes that failed, for the workers to fail the same (control-plane-map-writes.ts). */
  readonly #mapWrites = new MapWriteOutcomes();

  constructor(runtime: LuaRuntime) {
    this.#runtime = runtime;
    this.#maintenance = new MaintenanceChanges(runtime);
    runtime.bindingWrapper = (name, fn) => this.#wrap(name, fn);
  }

  #wrap(name: string, fn: LuaBinding): LuaBinding {
    const guarded = this.#guard(name, fn);
    if (!CONTROL_PLANE_MAP_WRITES.has(name)) return guarded;
    return (args) =>
      this.#configurationDone && this.#workers > 1 && this.#runtime.consoleCommandRunning
        ? this.#mapWrites.note(guarded, args)
        : guarded(args);
  }

  #guard(name: string, fn: LuaBinding): LuaBinding {
    const colon = name.indexOf(':');
    if (colon >= 0) {
      // An object's method: at run time only those that read, or act on what every worker shares, are allowed.
      if (RUNTIME_ALLOWED_CLASSES.has(name.slice(0, colon)) || RUNTIME_ALLOWED_METHODS.has(name)) return fn;
      const refusedMethod = REFUSED_METHODS_WITH_WORKERS[name];
      const reads = READ_ONLY_METHODS.has(name);
      return (args) => {
        // An object a method changes is not made again from its constructor call (maintenance-changes.ts).
        if (!reads && (!this.#configurationDone || (this.#workers > 1 && !this.#maintenance.recording)))
          this.#maintenance.changed(args.values[0], name);
        if (refusedMethod !== undefined && !this.#configurationDone) {
          if (!this.#uses.has(name)) this.#uses.set(name, { name, where: this.#runtime.callerPosition().replace(/: $/, '') });
        } else if (refusedMethod !== undefined && this.#workers > 1) {
          throw new LuaBindingError(
            `${name}: refused with ${this.#workers} data-plane workers: ${refusedMethod} (see docs/architecture.md)`,
          );
        }
        if (this.#configurationDone && this.#workers > 1) {
          const refused = REFUSED_CLASSES_AT_RUN_TIME[name.slice(0, colon)];
          if (refused)
            throw new LuaBindingError(`${name}: refused with ${this.#workers} data-plane workers: ${refused} (see docs/architecture.md)`);
          if (this.#runtime.consoleCommandRunning) return this.#change(fn, args);
          // A read in maintenance(): the control plane's copy is the workers' (their changes are the same), nothing to send.
          if (this.#maintenance.recording && reads) return fn(args);
          if (this.#maintenance.recording) return this.#record(this.#maintenance.methodText(name, args.values, this.#workers), fn, args);
          throw new LuaBindingError(
            `${name}: refused with ${this.#workers} data-plane workers outside the console and maintenance(): it would change or read only the control plane's copy of the object, not the workers' (changes made at the console or in maintenance() are applied in every worker; see docs/architecture.md)`,
          );
        }
        return fn(args);
      };
    }
    const refused = name in REFUSED_WITH_WORKERS;
    // Selectors, actions and the new… makers (newRuleAction, newPacketCache, …; not newServer) build values.
    const constructor = isObjectMaker(name);
    if (!refused && (constructor || RUNTIME_ALLOWED_WITH_WORKERS.has(name))) {
      // Where objects come from, so that maintenance() can pass them to a change the workers make again.
      const note = isObjectMaker(name) ? 'made' : OBJECT_GETTERS.has(name) ? 'got' : undefined;
      if (note === undefined) return fn;
      return (args) => {
        const result = fn(args);
        if (!this.#configurationDone || this.#workers > 1) this.#maintenance[note](name, args.values, result);
        return result;
      };
    }
    return (args) => {
      if (!this.#configurationDone) {
        if (refused && !this.#uses.has(name)) this.#uses.set(name, { name, where: this.#runtime.callerPosition().replace(/: $/, '') });
      } else if (this.#workers > 1) {
        if (!refused && this.#runtime.consoleCommandRunning) return this.#change(fn, args);
        if (!refused && this.#maintenance.recording)
          return this.#record(this.#maintenance.callText(name, args.values, this.#workers), fn, args);
        const why =
          REFUSED_WITH_WORKERS[name] ??
          'outside the console and maintenance() (a health check or web handler) it would change only the control plane, not the workers that answer queries; make the change at the console or in maintenance(), which apply it in every worker';
        throw new LuaBindingError(`${name}: refused with ${this.#workers} data-plane workers: ${why} (see docs/architecture.md)`);
      }
      return fn(args);
    };
  }

  /** A console command starts: its kernel-map writes are counted from the first. */
  beginConsoleCommand(): void {
    this.#mapWrites.begin();
  }

  /** The kernel-map writes of the console command that ended which failed, by position, for the workers. */
  takeMapWriteFailures(): MapWriteFailure[] {
    return this.#mapWrites.take();
  }

  /** A call maintenance() makes, written as `text` for the workers: run here, then recorded (a call that fails is not). */
  #record(text: string, fn: LuaBinding, args: Parameters<LuaBinding>[0]): ReturnType<LuaBinding> {
    const result = fn(args);
    this.#maintenance.add(text);
    return result;
  }

  /**
   * maintenance() is about to run: with several workers, its changes are
   * recorded until maintenanceDone(). Returns whether they are.
   */
  beginMaintenance(): boolean {
    if (!this.#configurationDone || this.#workers <= 1) return false;
    this.#maintenance.begin();
    return true;
  }

  /** maintenance() returned (or failed): the calls it made that change the configuration, as Lua statements, in order. */
  maintenanceDone(): string[] {
    return this.#maintenance.end();
  }

  /** A console command ended: the globals it set are the workers' too (it runs there as well). */
  consoleCommandEnded(): void {
    if (this.#configurationDone && this.#workers > 1) this.#maintenance.syncGlobals();
  }

  /** A console command changes the configuration: noted, so that it is then run in every worker (worker-config-log.ts). */
  #change(fn: LuaBinding, args: Parameters<LuaBinding>[0]): ReturnType<LuaBinding> {
    this.#changed = true;
    return fn(args);
  }

  /**
   * Whether a console command called a function that changes the
   * configuration since the last call; clears the note. The Lua globals it
   * set are not a change here: they are copied to the workers
   * (worker-lua-globals.ts), and one that cannot be copied (a function)
   * makes the command run in the workers (DnsdistApp). Comparing the
   * globals here also counted those maintenance() set between the
   * command's slices, and sent a command to workers where maintenance()
   * never runs.
   */
  takeChange(): boolean {
    const changed = this.#changed;
    this.#changed = false;
    return changed;
  }

  /** Note a change again (one taken on behalf of another command). */
  noteChange(): void {
    this.#changed = true;
  }

  /** The configuration's first use of each function refused with several workers. */
  get uses(): GuardedUse[] {
    return [...this.#uses.values()];
  }

  /**
   * The configuration has run with this many workers. Throws a
   * LuaScriptError at the first refused use ("file:line: name: …") when
   * there is more than one; from then on run-time changes are refused too.
   */
  configurationDone(workers: number, chunk: string): void {
    this.#workers = workers;
    this.#configurationDone = true;
    if (workers <= 1) {
      // Nothing is recorded with one worker: the configuration's notes go.
      this.#maintenance = new MaintenanceChanges(this.#runtime);
      return;
    }
    this.#maintenance.syncGlobals();
    const first = this.uses[0];
    if (first) {
      throw new LuaScriptError(
        `${first.where}: ${first.name}: not supported with ${workers} data-plane workers: ${REFUSED_WITH_WORKERS[first.name] ?? REFUSED_METHODS_WITH_WORKERS[first.name]}; run with one worker (--workers 1, setWorkers(1)) or see docs/architecture.md`,
        chunk,
      );
    }
  }
}

/** Something dnsdist-ts cannot yet do with several data-plane workers; the message says what and where to read more. */
export class NotWithWorkersError extends Error {
  readonly what: string;
  readonly workers: number;
  constructor(what: string, workers: number, why: string) {
    super(`${what}: not supported with ${workers} data-plane workers: ${why}; run with one worker or see docs/architecture.md`);
    this.name = 'NotWithWorkersError';
    this.what = what;
    this.workers = workers;
  }
}
