/**
 * Console commands that change the configuration, with several data-plane
 * workers. The control plane runs the command in its own Lua state (its
 * output is the console's reply, printed once); when the command called a
 * function that changes the configuration (WorkerGuards.takeChange), the
 * command's text is then run in every worker's Lua state, output discarded,
 * and kept in a log that a worker started later (a restart) replays after
 * the configuration, in order, so that every Lua state has run the same
 * text. A worker whose outcome differs from the control plane's (one
 * failed, the other did not) is reported loudly: logged as an error and
 * added to the console's reply.
 *
 * maintenance() stays where dnsdist runs it, once a second in one place:
 * the control plane. The changes it makes are recorded as the Lua text of
 * each call (maintenance-changes.ts) and logged and sent here like a
 * console command; the Lua globals it sets are copied to the workers
 * (worker-lua-globals.ts). Changes from other Lua the control plane runs
 * (a health check's) stay refused.
 */
import { DEFAULT_CONSOLE_COMMAND_LIMITS } from '@dnsdist-ts/lua/lua/console-time-budget.js';
import { LuaBindingError } from '@dnsdist-ts/lua/lua/lua-errors.js';
import type { LuaBinding, LuaRuntime } from '@dnsdist-ts/lua/lua/lua-runtime.js';
import type { FilterMapHandles } from '@dnsdist-ts/bpf-filter';
import type { ClientTableHook } from './shared-client-buckets.js';
import { refusedAtRunTime } from './worker-guards.js';
import { CONTROL_PLANE_MAP_WRITES, MapWriteOutcomes, type MapWriteFailure } from './control-plane-map-writes.js';

/** Where a worker's newBPFFilter calls find the control plane's maps (ProxyEbpf.shareFilters). */
export interface SharedFilterHook {
  shareFilters(given?: readonly FilterMapHandles[]): void;
}

/** One console command that changed the configuration. */
export interface ConfigChange {
  /** 1, 2, …: the order every worker runs them in. */
  id: number;
  /** The command as typed. */
  line: string;
  /** Whether it failed in the control plane (it may have changed something before failing). */
  failed: boolean;
  /** The console's command timeout (setConsoleCommandTimeout) when it ran, in ms; 0: none. */
  timeoutMs: number;
  /** Shared tables for the MaxQPSIPRules it created, in order (shared-client-buckets.ts). */
  clientTables: SharedArrayBuffer[];
  /** The kernel maps of the BPF filters it created in the control plane, in order (ProxyEbpf.shareFilters). */
  bpfFilters?: FilterMapHandles[];
  /** Where the text comes from when not a console command: "maintenance()" (its recorded calls, maintenance-changes.ts). */
  source?: string;
  /** Its kernel-map writes that failed in the control plane, which a worker's skipped ones repeat (control-plane-map-writes.ts). */
  mapWriteFailures?: MapWriteFailure[];
}

/**
 * What a worker does not do when it runs a console command: these act on
 * what only the control plane has (the process, the workers, the ACL and
 * the backends' up/down state it sends to every worker, the console and
 * the webserver) and are done once, there.
 */
export const CONTROL_PLANE_ONLY: ReadonlySet<string> = new Set([
  'shutdown',
  'restartWorker',
  'setACL',
  'addACL',
  'rmACL',
  'setACLFromFile',
  'Server:setUp',
  'Server:setDown',
  'Server:setAuto',
  'controlSocket',
  'webserver',
  'setWebserverConfig',
  'setAPIWritable',
  'carbonServer',
  // The DNSCrypt certificates are the control plane's, sent to the workers as they change (worker-keys.ts).
  'DNSCryptContext:loadNewCertificate',
  'DNSCryptContext:addNewCertificate',
  'DNSCryptContext:generateAndLoadInMemoryCertificate',
  'DNSCryptContext:markActive',
  'DNSCryptContext:markInactive',
  'DNSCryptContext:removeInactiveCertificate',
  // So are the TLS session ticket keys.
  'TLSContext:rotateTicketsKey',
  'TLSContext:loadTicketsKeys',
  'TLSFrontend:rotateTicketsKey',
  'TLSFrontend:loadTicketsKeys',
  'DOHFrontend:rotateTicketsKey',
  'DOHFrontend:loadTicketsKeys',
  'TLSCtx:rotateTicketsKey',
  'TLSCtx:loadTicketsKeys',
]);

/**
 * What a worker never does, not even running the configuration: write the
 * DNSCrypt key and certificate files and the OCSP responses, which the
 * control plane wrote before the workers ran it (a worker writing them
 * again would replace the keys the control plane loaded with new ones, and
 * another worker could read a response file while it is being rewritten).
 */
export const CONTROL_PLANE_FILES: ReadonlySet<string> = new Set([
  'generateDNSCryptProviderKeys',
  'generateDNSCryptCertificate',
  'generateOCSPResponse',
]);

/** How long the console waits for the workers beyond the command's own timeout before it replies without them. */
const ACK_GRACE_MS = 5000;

interface Waiting {
  change: ConfigChange;
  pending: Set<number>;
  reports: string[];
  resolve: (reports: string[]) => void;
}

/** Control-plane side: the log of changes and the workers' answers. */
export class WorkerConfigLog {
  readonly #entries: ConfigChange[] = [];
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;

  /** Every change so far, in order: what a worker started now replays. */
  get entries(): readonly ConfigChange[] {
    return this.#entries;
  }

  /** Note a change; `workers` are the indexes it is sent to. Resolves with what diverged, once each has answered or gone. */
  append(what: Omit<ConfigChange, 'id'>, workers: readonly number[]): { change: ConfigChange; done: Promise<string[]> } {
    const change: ConfigChange = { id: this.#nextId++, ...what };
    const { line, timeoutMs } = change;
    this.#entries.push(change);
    if (workers.length === 0) return { change, done: Promise.resolve([]) };
    const done = new Promise<string[]>((resolve) => {
      const waiting: Waiting = { change, pending: new Set(workers), reports: [], resolve };
      this.#waiting.set(change.id, waiting);
      const timer = setTimeout(
        () => {
          if (!this.#waiting.delete(change.id)) return;
          for (const w of waiting.pending) {
            waiting.reports.push(`data-plane worker ${w} has not confirmed ${changeKind(change)} ${JSON.stringify(line)} yet`);
          }
          resolve(waiting.reports);
        },
        (timeoutMs > 0 ? timeoutMs : 0) + ACK_GRACE_MS,
      );
      timer.unref();
    });
    return { change, done };
  }

  /**
   * Worker `worker` ran change `id`: `error` is its error text, if it
   * failed. Returns the report when it diverged from the control plane.
   */
  ran(worker: number, change: ConfigChange | undefined, error: string | undefined): string | undefined {
    const report = change ? divergence(worker, change, error) : undefined;
    const waiting = change ? this.#waiting.get(change.id) : undefined;
    if (waiting) {
      if (report) waiting.reports.push(report);
      this.#settle(waiting, worker);
    }
    return report;
  }

  /** The change with this id, if logged. */
  find(id: number): ConfigChange | undefined {
    return this.#entries[id - 1];
  }

  /** A worker exited: nothing is waited for from it (the one that replaces it replays the log). */
  gone(worker: number): void {
    for (const waiting of [...this.#waiting.values()]) this.#settle(waiting, worker);
  }

  #settle(waiting: Waiting, worker: number): void {
    waiting.pending.delete(worker);
    if (waiting.pending.size > 0) return;
    this.#waiting.delete(waiting.change.id);
    waiting.resolve(waiting.reports);
  }
}

/** "console command", or the calls of "maintenance()". */
function changeKind(change: ConfigChange): string {
  return change.source ? `the calls of ${change.source}` : 'console command';
}

/** Why worker `worker`'s outcome of `change` is not the control plane's, or undefined when it is the same. */
export function divergence(worker: number, change: ConfigChange, error: string | undefined): string | undefined {
  if ((error !== undefined) === change.failed) return undefined;
  const what = `Data-plane worker ${worker} diverged from the control plane running ${changeKind(change)} ${JSON.stringify(change.line)}`;
  return error !== undefined
    ? `${what}: it failed (${error}) where the control plane did not; its configuration now differs, restart it (restartWorker(${worker}))`
    : `${what}: it succeeded where the control plane failed; its configuration now differs, restart it (restartWorker(${worker}))`;
}

/**
 * Worker side: runs the control plane's console commands in this worker's
 * Lua state, as the console would (in slices, within the same time limit),
 * output discarded, with the CONTROL_PLANE_ONLY functions doing nothing.
 * Install it before the Lua bindings are registered.
 */
export class ConfigChangeRunner {
  readonly #runtime: LuaRuntime;
  #queue: Promise<unknown> = Promise.resolve();

  readonly #clientTables: ClientTableHook | undefined;
  readonly #filters: SharedFilterHook | undefined;
  /** True until the worker has run the configuration (configurationLoaded). */
  #configuring = true;
  /** The running change's map writes, skipped here, failing where the control plane's did. */
  readonly #mapWrites = new MapWriteOutcomes();

  constructor(runtime: LuaRuntime, clientTables: ClientTableHook | undefined, filters?: SharedFilterHook) {
    this.#runtime = runtime;
    this.#clientTables = clientTables;
    this.#filters = filters;
    runtime.bindingWrapper = (name, fn) => {
      if (CONTROL_PLANE_FILES.has(name)) return () => undefined;
      if (CONTROL_PLANE_MAP_WRITES.has(name)) return this.#skipInControlPlaneText(fn);
      if (CONTROL_PLANE_ONLY.has(name)) return this.#skipInConsole(fn);
      const refused = refusedAtRunTime(name);
      return refused !== undefined ? this.#refuseInConsole(name, refused, fn) : fn;
    };
  }

  #skipInConsole(fn: LuaBinding): LuaBinding {
    return (args) => (this.#runtime.consoleCommandRunning ? undefined : fn(args));
  }

  /** The worker has run the configuration: from now on only console changes are the control plane's text. */
  configurationLoaded(): void {
    this.#configuring = false;
  }

  #skipInControlPlaneText(fn: LuaBinding): LuaBinding {
    return (args) => {
      if (this.#configuring) return undefined;
      return this.#runtime.consoleCommandRunning ? this.#mapWrites.skip() : fn(args);
    };
  }

  /** What the control plane refused fails here too, so that the outcomes match (the error text is the control plane's). */
  #refuseInConsole(name: string, why: string, fn: LuaBinding): LuaBinding {
    return (args) => {
      if (this.#runtime.consoleCommandRunning) throw new LuaBindingError(`${name}: refused with data-plane workers: ${why}`);
      return fn(args);
    };
  }

  /** Run `fn` once the changes given before it have run (Lua globals are set after the commands sent before them). */
  afterChanges<T>(fn: () => T): Promise<T> {
    const result = this.#queue.then(fn);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** Run `change` after those given before it; resolves with its error text, or undefined when it succeeded. */
  run(change: ConfigChange): Promise<string | undefined> {
    const result = this.#queue.then(() => this.#run(change));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #run(change: ConfigChange): Promise<string | undefined> {
    let failed = false;
    const reply = await this.#runtime.runConsoleCommandSliced(change.line, () => undefined, {
      limits: { ...DEFAULT_CONSOLE_COMMAND_LIMITS, timeoutMs: change.timeoutMs },
      // Its MaxQPSIPRules count in the tables the control plane made for them.
      // Its newBPFFilter calls take the control plane's maps.
      onStart: () => {
        this.#mapWrites.begin(change.mapWriteFailures);
        this.#clientTables?.begin(change.clientTables);
        this.#filters?.shareFilters(change.bpfFilters);
      },
      onDone: (f) => {
        failed = f;
        this.#clientTables?.begin();
        this.#filters?.shareFilters();
      },
    });
    return failed ? reply.replace(/^Error: /, '').trimEnd() : undefined;
  }
}
