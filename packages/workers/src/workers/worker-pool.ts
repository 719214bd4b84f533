/**
 * The control plane's data-plane workers: starts N worker threads at once
 * (each loads and runs the configuration; the first binds the listeners
 * and says which ports it got, the others then join them with
 * SO_REUSEPORT), shares their counters with the control plane's objects
 * (live-counters.ts), tells them which backends are up, and restarts a worker
 * that dies (logged; its sockets are re-opened by the new one).
 */
import type { FilterMapHandles } from '@dnsdist-ts/bpf-filter';
import { Worker } from 'node:worker_threads';
import { ListenError } from '@dnsdist-ts/dataplane/io/listen-error.js';
import type { LuaGlobalChange } from '@dnsdist-ts/lua/lua/lua-globals-copy.js';
import type { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import type { WorkerStatus } from '@dnsdist-ts/lua/lua/worker-control.js';
import { layoutObjectsOf, type LayoutObjects } from './counter-layout.js';
import { LiveCounters } from './live-counters.js';
import { SharedBackendStates } from './shared-backend-states.js';
import type { BackendStatesAfterChange } from './backend-states-by-change.js';
import type { MapWriteFailure } from './control-plane-map-writes.js';
import { RUN_TIME_REGION, RunTimeCounters } from './run-time-counters.js';
import { SharedProcessWideCounts } from './shared-process-counts.js';
import { SharedTokenBuckets } from './shared-token-buckets.js';
import { configurationCaches, WorkerCaches } from './worker-caches.js';
import { WorkerConfigLog } from './worker-config-log.js';
import type { EncryptedListenerPorts, WorkerListenerInfo } from './worker-listeners.js';
import type { WorkerLuaGlobals } from './worker-lua-globals.js';
import { WorkerKeyDistribution } from './worker-keys.js';
import { HeldListeningSockets } from './worker-socket-handover.js';
import { WorkerSocketFilters } from './worker-socket-filters.js';
import {
  PRELAUNCHED,
  type ControlToWorker,
  type ForwardedOptions,
  type ListenFailure,
  type WorkerStart,
  type WorkerToControl,
} from './worker-messages.js';

/** How often the backend states of backends added at the console and the ACL are looked at. */
const SYNC_INTERVAL_MS = 100;
/** A worker that keeps dying is restarted at most this often. */
const MAX_RESTART_DELAY_MS = 5000;

/** A worker could not start; the message names the listener or the configuration line. */
export class WorkerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerStartError';
  }
}

interface Slot {
  worker: Worker | undefined;
  threadId: number;
  state: WorkerStatus['state'];
  restarts: number;
  lastRestartAt: number;
  /** Start-up: its configuration ran and it waits for the first worker's ports. */
  awaitingPorts: boolean;
}

/** Threads started by prelaunchWorkers() and not yet taken by a pool; `gone`: exited meanwhile. */
const prelaunched: Array<{ worker: Worker; gone: boolean }> = [];

/**
 * The worker count is known before the configuration is read (--workers N
 * on the command line): start the threads now, so that loading their
 * modules overlaps the control plane loading its own configuration.
 * WorkerPool.start() hands them their WorkerStart and ends those it did
 * not take.
 */
export function prelaunchWorkers(count: number, entryPoint: URL): void {
  for (let i = 0; i < count; i++) {
    const entry = { worker: new Worker(entryPoint, { workerData: PRELAUNCHED }), gone: false };
    // One that fails to load is not taken: the pool starts a fresh one, whose failure it reports.
    entry.worker.on('error', () => {});
    entry.worker.once('exit', () => (entry.gone = true));
    // Until taken, they keep nothing alive (a configuration error ends the process as without them).
    entry.worker.unref();
    prelaunched.push(entry);
  }
}

function takePrelaunched(): Worker | undefined {
  for (let entry = prelaunched.shift(); entry; entry = prelaunched.shift()) {
    if (entry.gone) continue;
    entry.worker.ref();
    return entry.worker;
  }
  return undefined;
}

function endPrelaunched(): void {
  for (const { worker } of prelaunched.splice(0)) void worker.terminate();
}

/**
 * `O`: the command line's options, which every worker gets (less their
 * `output` callback, plus its share of the shared buffers, WorkerShares);
 * the pool only forwards them, to the entry point it was given.
 */
/** What a console change made or met in the control plane that its run in the workers needs (all optional). */
export interface ConsoleChangeMade {
  /** Shared tables for the MaxQPSIPRules it created, in order. */
  clientTables?: SharedArrayBuffer[];
  /** The kernel maps of the BPF filters it created. */
  bpfFilters?: FilterMapHandles[];
  /** Where the text comes from when not a console command ("maintenance()"). */
  source?: string;
  /** Its kernel-map writes that failed (control-plane-map-writes.ts). */
  mapWriteFailures?: MapWriteFailure[];
}

export class WorkerPool<O extends ForwardedOptions = ForwardedOptions> {
  readonly count: number;
  readonly #proxy: DnsdistProxy;
  readonly #options: O;
  /** The module a worker thread runs (the composition root's worker entry, started by URL). */
  readonly #entryPoint: URL;
  readonly #slots: Slot[] = [];
  /** One shared token bucket per rate limiter of the configuration; a restarted worker takes up where its predecessor was. */
  readonly #qpsBuckets: SharedArrayBuffer;
  /** The roundrobin position and the TCP connection counts, once for the process (shared-process-counts.ts). */
  readonly #processCounts: SharedArrayBuffer;
  /** The workers' copies of the configuration's packet caches, which the control plane's copies stand for. */
  readonly caches: WorkerCaches;
  #ports: number[] | undefined;
  /** The DoT and DoH listeners' ports, once the first worker bound them. */
  #encryptedPorts: EncryptedListenerPorts | undefined;
  /** The backend states last sent to the workers, and the change they were after (backend-states-by-change.ts). */
  #serversUp: BackendStatesAfterChange = { up: [], change: 0 };
  /** The ACL last sent to the workers, and what cheaply tells a change (setACL replaces the group, addACL/rmACL resize it). */
  #acl: { group: unknown; size: number; masks: string[] } = { group: undefined, size: -1, masks: [] };
  #aclCheckDue = false;
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;
  /** Console commands that changed the configuration: run in every worker, replayed by a restarted one. */
  readonly #configLog = new WorkerConfigLog();
  /** The control plane's Lua globals that changed, copied to every worker (set by the app once the configuration ran). */
  luaGlobals: WorkerLuaGlobals | undefined;
  /** The counters of backends and rules added at the console: a region per worker, read live (run-time-counters.ts). */
  readonly #runTimeBuffer: SharedArrayBuffer;
  readonly #runTime: RunTimeCounters;
  /** The configuration's counters (global, backends, rules, listeners), each worker's region read live (live-counters.ts). */
  readonly #live: LiveCounters;
  /** The configuration's backends and rules, as the live counters list them. */
  readonly #liveObjects: LayoutObjects;
  readonly #liveBuffer: SharedArrayBuffer;
  readonly #liveRegions: Float64Array[];
  /** The configuration's backends' up/down state, which the workers' copies read (shared-backend-states.ts). */
  readonly #backendStates: SharedArrayBuffer;
  /** The control plane's DNSCrypt certificates, sent to every worker when they change. */
  readonly keys: WorkerKeyDistribution;
  /** Which socket filter program goes on which listener, sent to every worker when it changes. */
  readonly socketFilters: WorkerSocketFilters;
  /** Each slot's listening sockets, for a worker started in its place (worker-socket-handover.ts). */
  readonly #listeningSockets: HeldListeningSockets;
  /** Who binds the listeners at start-up (-u switches user afterwards). */
  readonly #bindingUid = process.geteuid?.();
  /** Told when a worker (a restarted one too) listens, before any query reaches it from the control plane's side. */
  onWorkerListening: ((index: number, worker: Worker) => void) | undefined;

  /**
   * `proxy` has its listener mirrors already (worker-listeners.ts): the
   * same listeners, servers and rules as each worker's, in the same order.
   * `entryPoint`: the worker threads' module (what prelaunchWorkers() was given too).
   */
  constructor(count: number, proxy: DnsdistProxy, options: O, qpsLimiters: number, entryPoint: URL) {
    this.count = count;
    this.#proxy = proxy;
    this.#options = options;
    this.#entryPoint = entryPoint;
    this.#qpsBuckets = SharedTokenBuckets.create(qpsLimiters).buffer;
    this.#processCounts = SharedProcessWideCounts.allocate(count);
    this.caches = new WorkerCaches(configurationCaches(proxy.pools.values()), count);
    this.caches.attach({
      count,
      post: (index, request) => {
        const slot = this.#slots[index];
        if (slot?.state !== 'running' || !slot.worker) return false;
        slot.worker.postMessage(request satisfies ControlToWorker);
        return true;
      },
    });
    this.keys = new WorkerKeyDistribution(proxy, (seq, keys) =>
      this.#slots.flatMap((s, i) => (s.worker ? (s.worker.postMessage({ type: 'keys', seq, keys } satisfies ControlToWorker), [i]) : [])),
    );
    this.socketFilters = new WorkerSocketFilters((seq, plan) =>
      this.#slots.flatMap((s, i) =>
        s.worker ? (s.worker.postMessage({ type: 'socketFilters', seq, plan } satisfies ControlToWorker), [i]) : [],
      ),
    );
    this.#listeningSockets = new HeldListeningSockets(count);
    this.#runTimeBuffer = new SharedArrayBuffer(count * RUN_TIME_REGION * 8);
    // The configuration's objects: read live as they are, and what the console adds is told apart from them.
    this.#liveObjects = layoutObjectsOf(proxy);
    this.#runTime = new RunTimeCounters(this.#liveObjects);
    this.#runTime.attachControlPlane(Array.from({ length: count }, (_, i) => RunTimeCounters.region(this.#runTimeBuffer, i)));
    this.#live = new LiveCounters(LiveCounters.targetsOf(proxy, this.#liveObjects));
    this.#liveBuffer = this.#live.createBuffer(count);
    this.#liveRegions = this.#live.regions(this.#liveBuffer, count)!;
    this.#live.attachControlPlane(this.#liveRegions);
    this.#backendStates = SharedBackendStates.create(proxy.servers);
    SharedBackendStates.attach(this.#backendStates, proxy.servers, true);
    for (let i = 0; i < count; i++) {
      this.#slots.push({
        worker: undefined,
        threadId: 0,
        state: 'starting',
        restarts: 0,
        lastRestartAt: 0,
        awaitingPorts: false,
      });
    }
  }

  /**
   * Start the workers, all at once: each loads the modules and runs the
   * configuration in parallel; the first binds the listeners (its bind
   * error stops start-up, naming the listener), the rest then bind the
   * same ports. Resolves with the bound ports once every worker answers;
   * a worker failing stops the others and start-up, with its error.
   */
  async start(): Promise<WorkerListenerInfo> {
    this.#serversUp = this.#backendStatesNow();
    this.#acl = { group: this.#proxy.acl, size: this.#proxy.acl.size(), masks: this.#proxy.aclStrings() };
    try {
      const bound = await Promise.all(this.#slots.map((_, i) => this.#spawn(i)));
      endPrelaunched();
      return bound[0]!;
    } catch (err) {
      endPrelaunched();
      // The others may still be loading or waiting for ports that will not come.
      this.#stopping = true;
      await Promise.all(this.#slots.map((s) => s.worker?.terminate()));
      throw err;
    }
  }

  /** The first worker's ports are known: the workers waiting for them bind. */
  #releasePorts(): void {
    for (const s of this.#slots) {
      if (!s.awaitingPorts || !s.worker || !this.#ports) continue;
      s.awaitingPorts = false;
      s.worker.postMessage({ type: 'bind', ports: this.#ports, encryptedPorts: this.#encryptedPorts } satisfies ControlToWorker);
    }
  }

  /**
   * The control plane made its listener mirrors again with the ports the
   * workers bound: the new objects read the same live counters.
   */
  listenersMirrored(): void {
    this.#live.replaceTargets(LiveCounters.targetsOf(this.#proxy, this.#liveObjects));
  }

  /** Begin following backend states and the ACL. */
  sync(): void {
    this.#timer = setInterval(() => this.#syncNow(), SYNC_INTERVAL_MS);
    this.#timer.unref();
  }

  #syncNow(): void {
    this.#syncAcl();
    const now = this.#backendStatesNow();
    const last = this.#serversUp;
    // After each change too: a worker drops a list from before the last change it ran, and waits for this one.
    if (now.change !== last.change || now.up.length !== last.up.length || now.up.some((u, i) => u !== last.up[i])) {
      this.#serversUp = now;
      this.#broadcast({ type: 'servers', ...now });
    }
  }

  /** The control plane's backend states now, with the change they follow. */
  #backendStatesNow(): BackendStatesAfterChange {
    return { up: this.#proxy.servers.map((s) => s.isUp()), change: this.#configLog.entries.at(-1)?.id ?? 0 };
  }

  /**
   * A console command ran (or an API call): compare the ACL in full at
   * the next sync, since a mask removed and another added keep its size.
   */
  configurationMayHaveChanged(): void {
    this.#aclCheckDue = true;
  }

  /** The console and the API change the control plane's ACL: the workers get it within a sync. */
  #syncAcl(): void {
    const acl = this.#proxy.acl;
    if (!this.#aclCheckDue && acl === this.#acl.group && acl.size() === this.#acl.size) return;
    this.#aclCheckDue = false;
    const masks = this.#proxy.aclStrings();
    const changed = masks.length !== this.#acl.masks.length || masks.some((m, i) => m !== this.#acl.masks[i]);
    this.#acl = { group: acl, size: acl.size(), masks };
    if (changed) this.#broadcast({ type: 'acl', masks });
  }

  /**
   * A console command changed the control plane's configuration: run it in
   * every worker and log it for workers started later. Resolves once each
   * worker has run it (or gone), with a report for each that diverged
   * (also logged as an error).
   */
  applyConsoleChange(line: string, failed: boolean, timeoutMs: number, made: ConsoleChangeMade = {}): Promise<string[]> {
    const { clientTables = [], bpfFilters = [], source, mapWriteFailures = [] } = made;
    const targets = this.#slots.flatMap((s, i) => (s.worker ? [i] : []));
    const { change, done } = this.#configLog.append(
      {
        line,
        failed,
        timeoutMs,
        clientTables,
        bpfFilters,
        ...(source ? { source } : {}),
        ...(mapWriteFailures.length > 0 ? { mapWriteFailures } : {}),
      },
      targets,
    );
    this.#runTime.controlPlaneRan(this.#proxy, change.id);
    if (this.#runTime.overflow) {
      this.#proxy.log.error(
        `The backends and rules added at the console need more counters than a worker's region holds (${RUN_TIME_REGION >> 1}): theirs are not added up any more`,
      );
    }
    for (const i of targets) this.#slots[i]!.worker!.postMessage({ type: 'change', change } satisfies ControlToWorker);
    return done;
  }

  /** Lua globals changed in the control plane: set them in every worker; resolves once each has (or has gone). */
  sendLuaGlobals(changes: LuaGlobalChange[]): Promise<void> {
    if (!this.luaGlobals || changes.length === 0) return Promise.resolve();
    const targets = this.#slots.flatMap((s, i) => (s.worker ? [i] : []));
    const { id, done } = this.luaGlobals.send(changes, targets);
    for (const i of targets) this.#slots[i]!.worker!.postMessage({ type: 'luaGlobals', id, changes } satisfies ControlToWorker);
    return done;
  }

  #broadcast(m: ControlToWorker): void {
    for (const s of this.#slots) s.worker?.postMessage(m);
  }

  /** Start worker `index`; resolves when its listeners are bound, rejects with WorkerStartError. */
  #spawn(index: number): Promise<WorkerListenerInfo> {
    const slot = this.#slots[index]!;
    const { output: _output, ...options } = this.#options;
    const data: WorkerStart<O> = {
      index,
      options: {
        ...options,
        qpsBuckets: this.#qpsBuckets,
        processCounts: { buffer: this.#processCounts, workers: this.count, worker: index },
      },
      ports: this.#ports,
      encryptedPorts: this.#encryptedPorts,
      // A restarted worker (or one started after the first bound) has the ports at once.
      bindAfterFirst: index > 0 && this.#ports === undefined,
      // The states now, after the last change in configLog: the worker replays it, then applies these.
      serversUp: this.#backendStatesNow(),
      acl: this.#acl.masks,
      caches: this.caches.buffers,
      workers: this.count,
      configLog: [...this.#configLog.entries],
      luaGlobals: this.luaGlobals?.current() ?? [],
      runTimeCounters: this.#runTimeBuffer,
      liveCounters: this.#liveBuffer,
      backendStates: this.#backendStates,
      keys: this.keys.snapshot(),
      socketFilters: this.socketFilters.snapshot(),
      listeningSockets: this.#listeningSockets.inherited(index),
    };
    const early = takePrelaunched();
    const worker = early ?? new Worker(this.#entryPoint, { workerData: data });
    slot.worker = worker;
    slot.threadId = worker.threadId;
    slot.state = 'starting';
    slot.awaitingPorts = false;
    const log = this.#proxy.log;
    return new Promise((resolve, reject) => {
      let listening = false;
      let failure: string | undefined;
      let listenFailure: ListenFailure | undefined;
      worker.on('message', (m: WorkerToControl) => {
        if (m.type === 'log') log.sink(m.level, m.line);
        else if (m.type === 'failed') {
          failure = m.message;
          listenFailure = m.listen;
        } else if (m.type === 'ran') {
          const report = this.#configLog.ran(index, this.#configLog.find(m.id), m.error);
          if (report) log.error(report);
        } else if (m.type === 'luaGlobalsSet') {
          this.luaGlobals?.applied(index, m.id);
        } else if (m.type === 'keys-applied') this.keys.applied(index, m.seq);
        else if (m.type === 'socketFilters-applied') this.socketFilters.applied(index, m.seq);
        else if (m.type === 'listening-socket') this.#listeningSockets.keep(index, m.name, m.fd);
        else if (m.type === 'loaded') {
          slot.awaitingPorts = true;
          this.#releasePorts();
        } else if (m.type === 'listening') {
          listening = true;
          if (this.#ports === undefined) {
            this.#ports = m.ports;
            this.#encryptedPorts = m.encrypted;
            this.#releasePorts();
          }
          slot.state = 'running';
          this.onWorkerListening?.(index, worker);
          resolve({
            ports: m.ports,
            kinds: m.kinds,
            tlsPorts: m.encrypted.tls,
            dohPorts: m.encrypted.doh,
            dnscryptPorts: m.encrypted.dnscrypt,
          });
        }
      });
      worker.on('error', (err) => {
        failure ??= err.message;
      });
      worker.on('exit', (code) => {
        if (slot.worker !== worker) return;
        slot.worker = undefined;
        this.#configLog.gone(index);
        this.luaGlobals?.gone(index);
        this.keys.gone(index);
        this.socketFilters.gone(index);
        if (!listening) {
          // A listener that could not be bound is the same ListenError as with one worker (requestedBy, protocol, code).
          const l = listenFailure;
          reject(
            l
              ? new ListenError(l.requestedBy, l.host, l.port, l.protocol, Object.assign(new Error(failure), { code: l.code }))
              : new WorkerStartError(failure ?? `data-plane worker ${index} exited with code ${code} while starting`),
          );
          return;
        }
        if (this.#stopping) return;
        this.#restart(index, `exited with code ${code}${failure ? ` (${failure})` : ''}`);
      });
      if (early) worker.postMessage({ type: 'start', start: data } satisfies ControlToWorker);
    });
  }

  /** A worker died after starting: keep its counters, log, and start another in its place. */
  #restart(index: number, why: string): void {
    const slot = this.#slots[index]!;
    this.#live.retire(this.#liveRegions, index);
    this.caches.retire(index);
    // Its connections closed with it: they leave the per-client and per-listener counts.
    SharedProcessWideCounts.releaseWorker(this.#processCounts, this.count, index);
    this.#runTime.retire(index);
    slot.state = 'restarting';
    slot.restarts++;
    const now = Date.now();
    // A worker that dies again at once is restarted with a growing delay, so a crash loop does not spin a core.
    const delay = now - slot.lastRestartAt < 10_000 ? Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** Math.min(slot.restarts, 6)) : 0;
    slot.lastRestartAt = now;
    // Sockets kept open hold this slot's share of the clients until the next worker reads them. So they are kept only
    // when it could not bind them again: after -u switched user (the SO_REUSEPORT groups are the first binder's), and
    // not through a crash loop's waits. Otherwise they close, and the kernel spreads those clients over the others.
    if (delay > 0 || process.geteuid?.() === this.#bindingUid) this.#listeningSockets.release(index);
    this.#proxy.log.error(
      `Data-plane worker ${index} (thread ${slot.threadId}) ${why}; restarting it${delay > 0 ? ` in ${delay} ms` : ''}`,
    );
    const timer = setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn(index).then(
        () => this.#proxy.log.info(`Data-plane worker ${index} restarted (thread ${slot.threadId})`),
        (err: unknown) => {
          // Sockets no worker reads would hold this slot's share of the clients until a start succeeds.
          this.#listeningSockets.release(index);
          this.#restart(index, `failed to restart: ${(err as Error).message}`);
        },
      );
    }, delay);
    timer.unref();
  }

  /** End worker `index` as a crash would (restartWorker()): it is logged and restarted. */
  async terminate(index: number): Promise<void> {
    const w = this.#slots[index]?.worker;
    if (w) await w.terminate();
  }

  /** Each worker's state and the queries it counted (since its last start). */
  status(): WorkerStatus[] {
    return this.#slots.map((s, index) => ({
      index,
      threadId: s.threadId,
      state: s.state,
      restarts: s.restarts,
      queries: this.#live.workerValue(this.#liveRegions, index, this.#proxy.counters, 'queries'),
    }));
  }

  /** Stop every worker (their sockets close with them). */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#syncNow();
    await Promise.all(
      this.#slots.map(async (s) => {
        const w = s.worker;
        if (!w) return;
        const gone = new Promise<void>((resolve) => w.once('exit', () => resolve()));
        w.postMessage({ type: 'stop' } satisfies ControlToWorker);
        const timer = setTimeout(() => void w.terminate(), 2000);
        await gone;
        clearTimeout(timer);
      }),
    );
    this.#listeningSockets.closeAll();
  }
}
