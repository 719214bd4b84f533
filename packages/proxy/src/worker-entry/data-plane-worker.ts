/**
 * A data-plane worker (worker_threads entry point, started by URL: see
 * app/worker-entry-url.ts), the composition root of a worker thread: runs the
 * configuration in its own Lua state, binds every listener with
 * SO_REUSEPORT (the kernel spreads clients over the workers), and answers
 * queries through the whole query path. Console, webserver, health checks,
 * BPF pins and XDP, maintenance() and dynamic-block groups act only in the
 * control plane: here backends are up or down as the control plane says,
 * the dynamic blocks are the control plane's (worker-dyn-blocks.ts), the
 * rings are read by it on demand (worker-rings.ts), the Lua globals that
 * the control plane's Lua changes are copied here (worker-lua-globals.ts),
 * and the counters live in this worker's region of a shared buffer
 * (live-counters.ts; those of backends and rules added at the console in
 * its region of another, run-time-counters.ts). Those modules are the
 * workers package's (@dnsdist-ts/workers/workers/).
 */
import { setListeningSocketHandover } from '@dnsdist-ts/dataplane/io/listening-socket-handover.js';
import { WorkerSocketHandover } from '@dnsdist-ts/workers/workers/worker-socket-handover.js';
import { parentPort, workerData } from 'node:worker_threads';
import { DnsdistApp, type AppOptions } from '../app/dnsdist-app.js';
import { ListenError } from '@dnsdist-ts/dataplane/io/listen-error.js';
import { layoutObjectsOf } from '@dnsdist-ts/workers/workers/counter-layout.js';
import { LiveCounters } from '@dnsdist-ts/workers/workers/live-counters.js';
import { SharedBackendStates } from '@dnsdist-ts/workers/workers/shared-backend-states.js';
import { BackendStatesByChange } from '@dnsdist-ts/workers/workers/backend-states-by-change.js';
import { RunTimeCounters } from '@dnsdist-ts/workers/workers/run-time-counters.js';
import { WorkerCacheSharing } from '@dnsdist-ts/workers/workers/worker-cache-sharing.js';
import { configurationCaches, WorkerCacheCopies } from '@dnsdist-ts/workers/workers/worker-caches.js';
import type { ConfigChange } from '@dnsdist-ts/workers/workers/worker-config-log.js';
import { keepKernelOutOfWorkerCopy } from '@dnsdist-ts/workers/workers/worker-dyn-blocks.js';
import { PRELAUNCHED, type ControlToWorker, type WorkerStart, type WorkerToControl } from '@dnsdist-ts/workers/workers/worker-messages.js';
import { takeRingShare } from '@dnsdist-ts/workers/workers/worker-rings.js';
import { serveFastDetection } from '@dnsdist-ts/workers/workers/worker-fast-detection.js';
import {
  encryptedListenerPorts,
  shareEncryptedListeners,
  type EncryptedListenerPorts,
} from '@dnsdist-ts/workers/workers/worker-listeners.js';
import { serveWorkerState } from '@dnsdist-ts/workers/workers/worker-state-pull.js';
import { applyLuaGlobals } from '@dnsdist-ts/workers/workers/worker-lua-globals.js';
import type { LuaGlobalChange } from '@dnsdist-ts/lua/lua/lua-globals-copy.js';
import { applyWorkerKeys } from '@dnsdist-ts/workers/workers/worker-keys.js';
import { applySocketFilterPlan, type SocketFilterPlan } from '@dnsdist-ts/workers/workers/worker-socket-filters.js';

/** How often the packet-cache copies catch up with each other and publish their entry counts. */
const PUBLISH_INTERVAL_MS = 100;

/** workerData, or for a prelaunched worker (worker-pool.ts) the 'start' message, which comes once the control plane has its configuration. */
let start: WorkerStart<AppOptions>;
const port = parentPort!;
const post = (m: WorkerToControl): void => port.postMessage(m);
let started = false;
/** Backend up/down as the control plane last said, applied once this worker has run the same changes. */
let serverStates: BackendStatesByChange | undefined;
/** The counters of backends and rules added at the console (after start-up), and this worker's region for them. */
let runTime: { counters: RunTimeCounters; regions: Float64Array[] } | undefined;
/** Once listening: what handles the control plane's messages. Until then they wait, in order, in `early`. */
let handle: ((m: ControlToWorker) => void) | undefined;
const early: ControlToWorker[] = [];
/** The ports the first worker bound (bindAfterFirst), when they come. */
let bindPorts: ((bound: { ports: number[]; encryptedPorts: EncryptedListenerPorts | undefined }) => void) | undefined;
port.on('message', (m: ControlToWorker<AppOptions>) => {
  if (m.type === 'start') begin(m.start);
  else if (m.type === 'bind') bindPorts?.(m);
  else if (handle) handle(m);
  // Stopped before listening (another worker failed to start): nothing here to close.
  else if (m.type === 'stop') process.exit(0);
  else early.push(m);
});

async function run(): Promise<void> {
  // Listeners take the sockets a worker in this slot bound before, and the control plane keeps the ones bound here.
  setListeningSocketHandover(
    new WorkerSocketHandover(start.listeningSockets ?? [], (name, fd) => post({ type: 'listening-socket', name, fd })),
  );
  const app = new DnsdistApp({
    ...start.options,
    role: 'worker',
    // The control plane printed the configuration's output once; afterwards print() from rules is shown.
    // A console command run here again prints nothing: the control plane's console showed its output.
    output: (line) => {
      if (started && !app.runtime.consoleCommandRunning) post({ type: 'log', level: 'info', line });
    },
  });
  // Until it listens, a worker repeats what the control plane logged loading the same configuration: only errors go up.
  app.proxy.log.sink = (level, line) => {
    if (app.runtime.consoleCommandRunning) return;
    if (started || level === 'error') post({ type: 'log', level, line });
  };
  app.proxy.quietListeners = true;
  // The control plane's health checks decide for every worker: a backend added here at run time waits for its verdict.
  app.proxy.healthChecksElsewhere = true;
  keepKernelOutOfWorkerCopy(app.dynBlocks);
  await app.loadConfiguration();
  // The counters' layout is the configuration's, as the control plane's is (objects added at run time: run-time-counters.ts).
  const layoutObjects = layoutObjectsOf(app.proxy);
  // The console's changes since start-up, in order, run as the console ran them (after the configuration).
  app.env.configurationDone = true;
  app.configChanges?.configurationLoaded();
  serverStates = new BackendStatesByChange(start.serversUp);
  for (const change of start.configLog) await runChange(app, change);
  setLuaGlobals(app, start.luaGlobals);
  // The control plane's DNSCrypt certificates, not the ones this Lua state made (worker-keys.ts).
  applyWorkerKeys(app.proxy, start.keys);
  // The configured ring size is the process's: each worker keeps its share (worker-rings.ts).
  takeRingShare(app.rings, app.workerSettings.count);
  // This block table is a copy of the control plane's: fleet sync and the CrowdSec watcher follow that one, not this.
  app.dynBlocks.observer = undefined;
  applyServerStates(app, serverStates.current());
  // The configuration's backends read the control plane's up/down state itself from now on.
  if (!SharedBackendStates.attach(start.backendStates, layoutObjects.servers as DnsdistApp['proxy']['servers'], false)) {
    post({
      type: 'log',
      level: 'error',
      line: `Data-plane worker ${start.index}: its backends do not match the control plane's; their state follows it within 100 ms`,
    });
  }
  app.proxy.setACL(start.acl);
  // The first worker binds first: port 0 becomes a real port, which the others then share.
  const bound = start.bindAfterFirst
    ? await new Promise<{ ports: number[] | undefined; encryptedPorts: EncryptedListenerPorts | undefined }>((resolve) => {
        bindPorts = resolve;
        post({ type: 'loaded' });
      })
    : { ports: start.ports, encryptedPorts: start.encryptedPorts };
  app.proxy.listenerConfigs().forEach((fc, i) => {
    fc.reusePort = true;
    if (bound.ports) fc.port = bound.ports[i]!;
  });
  shareEncryptedListeners(app.proxy, bound.encryptedPorts);
  // setMaxTCPClientThreads(n): as dnsdist's TCP worker threads, the first n workers take TCP and DoT connections.
  const tcpThreads = app.proxy.settings.maxTCPClientThreads;
  app.proxy.acceptsTcp = tcpThreads <= 0 || start.index < tcpThreads;
  await app.start();
  // The control plane's socket filters on this worker's own sockets (a restarted worker's too).
  followSocketFilters(app, start.socketFilters);
  runTime = {
    counters: new RunTimeCounters(layoutObjects),
    regions: Array.from({ length: start.workers }, (_, i) => RunTimeCounters.region(start.runTimeCounters, i)),
  };
  runTime.counters.workerRan(app.proxy, start.configLog.at(-1)?.id ?? 0, runTime.regions, start.index);
  const live = new LiveCounters(LiveCounters.targetsOf(app.proxy, layoutObjects));
  const liveRegions = live.regions(start.liveCounters, start.workers);
  if (liveRegions) live.attachWorker(liveRegions, start.index);
  else {
    post({
      type: 'log',
      level: 'error',
      line: `Data-plane worker ${start.index}: its live counters (${live.size}) do not match the control plane's; its global, backend, rule and listener statistics are left out`,
    });
  }
  const cacheList = configurationCaches(app.proxy.pools.values());
  const caches = new WorkerCacheCopies(cacheList, start.caches, start.index, start.workers);
  // One cache across the workers: each copy takes the others' inserts (a copy unlike the control plane's stays apart).
  const sharing =
    caches.matches && cacheList.length > 0 && start.workers > 1
      ? new WorkerCacheSharing(cacheList, start.caches.sharing, start.index, start.workers)
      : undefined;
  if (!caches.matches) {
    post({
      type: 'log',
      level: 'error',
      line: `Data-plane worker ${start.index}: its packet caches do not match the control plane's (${start.caches.caches}); their statistics are left out`,
    });
  }
  const publish = setInterval(() => {
    // The other workers' entries this worker's misses did not take yet: the copies converge, their counts agree.
    sharing?.catchUp();
  }, PUBLISH_INTERVAL_MS);
  void app.stopped.then(() => {
    clearInterval(publish);
    sharing?.close();
  });
  handle = (m) => {
    if (m.type === 'cache') {
      const failure = caches.handle(m);
      if (failure)
        post({ type: 'log', level: 'error', line: `Data-plane worker ${start.index}: PacketCache:${m.operation.op}: ${failure.message}` });
    } else if (m.type === 'servers') applyServerStates(app, serverStates!.received(m));
    else if (m.type === 'acl') app.proxy.setACL(m.masks);
    else if (m.type === 'change') void runChange(app, m.change);
    else if (m.type === 'luaGlobals') {
      void app.configChanges!.afterChanges(() => setLuaGlobals(app, m.changes)).then(() => post({ type: 'luaGlobalsSet', id: m.id }));
    } else if (m.type === 'socketFilters') {
      followSocketFilters(app, m.plan);
      post({ type: 'socketFilters-applied', seq: m.seq });
    } else if (m.type === 'keys') {
      applyWorkerKeys(app.proxy, m.keys);
      post({ type: 'keys-applied', seq: m.seq });
    } else if (m.type === 'stop') void app.stop().then(() => port.close());
  };
  for (const m of early.splice(0)) handle(m);
  serveWorkerState(port, start.index, {
    rings: app.rings,
    dynBlocks: app.dynBlocks,
    servers: () => app.proxy.servers,
    tees: app.tees,
  });
  serveFastDetection(port, app.fastDetection.detector, app.fastDetection.check, start.workers);
  started = true;
  post({
    type: 'listening',
    ports: app.proxy.frontends.map((f) => f.udp.local.port),
    kinds: app.proxy.frontends.map((f) => f.udp.endpoint.kind),
    encrypted: encryptedListenerPorts(app.proxy),
  });
}

/** Run a console command the control plane ran, and say how it went. */
async function runChange(app: DnsdistApp, change: ConfigChange): Promise<void> {
  const error = await app.configChanges!.run(change);
  // The control plane's list after this change may have come while it ran; if not, it comes within a sync.
  applyServerStates(app, serverStates!.ran(change.id));
  runTime?.counters.workerRan(app.proxy, change.id, runTime.regions, start.index);
  post({ type: 'ran', id: change.id, error });
}

/** The control plane's Lua globals, here (worker-lua-globals.ts); a value that cannot be read back is an error in the log. */
function setLuaGlobals(app: DnsdistApp, changes: LuaGlobalChange[]): void {
  for (const error of applyLuaGlobals(app.runtime, changes))
    post({ type: 'log', level: 'error', line: `Data-plane worker ${start.index}: ${error}` });
}

/** Backends added at the console follow the control plane's health checks and console (setUp/setDown/setAuto); the configuration's read its state (shared-backend-states.ts). */
function applyServerStates(app: DnsdistApp, up: boolean[] | undefined): void {
  if (!up) return;
  app.proxy.servers.forEach((s, i) => {
    if (i < up.length && !s.followsSharedState) s.availability = up[i] ? 'up' : 'down';
  });
}

/** Attach the control plane's socket filter programs as `plan` says; a bind that cannot is an error in the log. */
function followSocketFilters(app: DnsdistApp, plan: SocketFilterPlan): void {
  for (const error of applySocketFilterPlan(app.ebpf, plan))
    post({ type: 'log', level: 'error', line: `Data-plane worker ${start.index}: ${error}` });
}

function begin(given: WorkerStart<AppOptions>): void {
  start = given;
  run().catch((err: unknown) => {
    const listen =
      err instanceof ListenError && err.code !== undefined
        ? { requestedBy: err.requestedBy, host: err.host, port: err.port, protocol: err.protocol, code: err.code }
        : undefined;
    post({ type: 'failed', message: err instanceof Error ? err.message : String(err), ...(listen ? { listen } : {}) });
    process.exit(1);
  });
}

if (workerData !== PRELAUNCHED) begin(workerData as WorkerStart<AppOptions>);
