/** What the control plane and its data-plane workers tell each other (postMessage), and what a worker starts with. */
import type { CacheRequest, WorkerCacheBuffers } from './worker-caches.js';
import type { BackendStatesAfterChange } from './backend-states-by-change.js';
import type { ConfigChange } from './worker-config-log.js';
import type { EncryptedListenerPorts } from './worker-listeners.js';
import type { LuaGlobalChange } from '@dnsdist-ts/lua/lua/lua-globals-copy.js';
import type { WorkerKeys } from './worker-keys.js';
import type { SocketFilterPlan } from './worker-socket-filters.js';

/**
 * The options the pool forwards to every worker (the application's, which
 * the pool does not look into): cloneable, once their `output` callback
 * is left behind.
 */
export interface ForwardedOptions {
  output?: unknown;
}

/** What the pool adds to the options for each worker: its share of the process-wide shared buffers. */
export interface WorkerShares {
  /** The shared rate-limiter buckets (shared-token-buckets.ts). */
  qpsBuckets: SharedArrayBuffer;
  /** This worker's share of the process-wide counts (shared-process-counts.ts): roundrobin, TCP connections. */
  processCounts: { buffer: SharedArrayBuffer; workers: number; worker: number };
}

/** A worker's workerData; `O`: the options the pool forwards (WorkerPool). */
export interface WorkerStart<O extends ForwardedOptions = ForwardedOptions> {
  /** 0 … N-1: the worker's region in the shared counter buffers. */
  index: number;
  /** The command line's options (a worker runs the same configuration), and this worker's shares. */
  options: Omit<O, 'output'> & WorkerShares;
  /** Port per listener (listenerConfigs() order) once the first worker bound them; absent: as configured. */
  ports: number[] | undefined;
  /** The DoT and DoH listeners' ports once the first worker bound them; absent: as configured. */
  encryptedPorts?: EncryptedListenerPorts;
  /**
   * Start-up, workers after the first: load and run the configuration
   * alongside it, then post 'loaded' and bind once a 'bind' message brings
   * the ports it bound.
   */
  bindAfterFirst: boolean;
  /** Backend up/down as the control plane decides it, by proxy.servers index, after the last change in configLog. */
  serversUp: BackendStatesAfterChange;
  /** The client ACL as the control plane has it now (the console may have changed it since start-up). */
  acl: string[];
  /** Every worker's packet-cache statistics and its reply words (worker-caches.ts). */
  caches: WorkerCacheBuffers;
  /** How many workers share those buffers. */
  workers: number;
  /** The console commands that changed the configuration so far, replayed in order after the configuration. */
  configLog: ConfigChange[];
  /** The Lua globals the control plane changed since the configuration ran (worker-lua-globals.ts), set after the replay. */
  luaGlobals: LuaGlobalChange[];
  /** Each worker's region for the counters of objects added at the console (run-time-counters.ts). */
  runTimeCounters: SharedArrayBuffer;
  /** Every worker's region of the counters read live, then the control plane's base region (live-counters.ts). */
  liveCounters: SharedArrayBuffer;
  /** The configuration's backends' up/down state, as the control plane decides it (shared-backend-states.ts). */
  backendStates: SharedArrayBuffer;
  /** The control plane's key material, which the worker uses in place of its own (worker-keys.ts). */
  keys: WorkerKeys;
  /** The socket filter programs to attach to this worker's listeners (worker-socket-filters.ts). */
  socketFilters: SocketFilterPlan;
  /** The listening sockets a worker in this slot bound before, by name, to take instead of binding (worker-socket-handover.ts). */
  listeningSockets: Array<[string, number]>;
}

/** A prelaunched worker's workerData (worker-pool.ts prelaunchWorkers): its WorkerStart comes in a 'start' message. */
export const PRELAUNCHED = 'prelaunched';

export type WorkerToControl =
  | { type: 'listening'; ports: number[]; kinds: Array<'dgram' | 'native'>; encrypted: EncryptedListenerPorts }
  /** The configuration ran (bindAfterFirst): waiting for the 'bind' message. */
  | { type: 'loaded' }
  /** Start-up failed; a listener that could not be bound also comes as its parts, for a ListenError on this side. */
  | { type: 'failed'; message: string; listen?: ListenFailure }
  | { type: 'log'; level: 'info' | 'warning' | 'error' | 'verbose'; line: string }
  /** A console change ran here (ConfigChange.id); `error` when it failed. */
  | { type: 'ran'; id: number; error: string | undefined }
  /** The Lua globals of message `id` are set here. */
  | { type: 'luaGlobalsSet'; id: number }
  /** The key material numbered `seq` is in use here. */
  | { type: 'keys-applied'; seq: number }
  /** The socket filter plan numbered `seq` is followed here. */
  | { type: 'socketFilters-applied'; seq: number }
  /** A listening socket bound here, for a worker started in this one's place (worker-socket-handover.ts); the fd is the control plane's. */
  | { type: 'listening-socket'; name: string; fd: number };

export type ControlToWorker<O extends ForwardedOptions = ForwardedOptions> =
  /** To a prelaunched worker: what it would have had as workerData. */
  | { type: 'start'; start: WorkerStart<O> }
  /** The control plane's backend states by proxy.servers index, after its configuration change `change` (backend-states-by-change.ts). */
  | ({ type: 'servers' } & BackendStatesAfterChange)
  | { type: 'acl'; masks: string[] }
  /** Bind the listeners on these ports (listenerConfigs() order): the ones the first worker bound. */
  | { type: 'bind'; ports: number[]; encryptedPorts: EncryptedListenerPorts | undefined }
  /** Run this console command, as the control plane did (worker-config-log.ts). */
  | { type: 'change'; change: ConfigChange }
  /** Set these Lua globals, after the console commands sent before (worker-lua-globals.ts). */
  | { type: 'luaGlobals'; id: number; changes: LuaGlobalChange[] }
  /** The control plane's key material changed: use this set from now on (worker-keys.ts). */
  | { type: 'keys'; seq: number; keys: WorkerKeys }
  /** Attach these socket filter programs to the listeners from now on (worker-socket-filters.ts). */
  | { type: 'socketFilters'; seq: number; plan: SocketFilterPlan }
  | { type: 'stop' }
  | CacheRequest;

/** A ListenError's parts, to make the same error in the control plane. */
export interface ListenFailure {
  requestedBy: string;
  host: string;
  port: number;
  protocol: 'udp' | 'tcp';
  code: string;
}
