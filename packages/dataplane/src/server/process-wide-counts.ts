/**
 * The counts dnsdist keeps once per process and that must stay once per
 * process when several data-plane workers answer queries: the built-in
 * `roundrobin` policy's position, each client's open TCP connections
 * (setMaxTCPConnectionsPerClient) and each listener's
 * (maxConcurrentTCPConnections). With one event loop they are plain
 * numbers here (LocalProcessWideCounts); a worker is given views of memory
 * every worker shares (workers/shared-process-counts.ts).
 */

/** A handle acquire() gives for a connection that was not counted (no limit): release() ignores it. */
export const NOT_COUNTED = -2;
/** acquire(): the client already has its maximum of open connections. */
export const REFUSED = -1;

/** Open TCP connections per client address, over every listener of the process (dnsdist's per-client count). */
export interface ClientConnectionCounts {
  /**
   * One more connection from `client` (4 or 16 address bytes) unless it has
   * `max` open already: a handle to give release() when it closes, or
   * REFUSED. `max` 0 means no limit (nothing is counted: NOT_COUNTED).
   */
  acquire(client: Uint8Array, max: number): number;
  /** The connection acquire() counted with `handle` closed. */
  release(client: Uint8Array, handle: number): void;
}

/** One listener's open TCP connections, when it is shared with copies of it in other workers. */
export interface ListenerConnectionCount {
  /** One more connection unless `max` are open: false (nothing counted) when they are. */
  acquire(max: number): boolean;
  release(): void;
  /** Connections open now over every copy of the listener (its most-at-once figure). */
  readonly open: number;
}

/** The listeners counted for the process, by kind (each numbered in its own list). */
export type ListenerKind = 'plain' | 'tls' | 'dnscrypt' | 'doh';

export interface ProcessWideCounts {
  /** The roundrobin policy's next position (element 0), advanced with Atomics.add. */
  readonly roundRobinPosition: Uint32Array;
  readonly clientConnections: ClientConnectionCounts;
  /**
   * The count for a TCP listener: `kind` 'plain' is the listenerConfigs()
   * index, 'tls' the addTLSLocal index, 'dnscrypt' the addDNSCryptBind
   * index, 'doh' the addDOHLocal index. undefined: the listener is the process's only copy and counts
   * its own connections.
   */
  listenerConnections(kind: ListenerKind, index: number): ListenerConnectionCount | undefined;
}

function clientKey(client: Uint8Array): string {
  let key = '';
  for (let i = 0; i < client.length; i++) key += String.fromCharCode(client[i]!);
  return key;
}

/** Per-client counts in a map: one event loop's, or a worker's when the shared table is full. */
export class LocalClientConnectionCounts implements ClientConnectionCounts {
  readonly #open = new Map<string, number>();

  acquire(client: Uint8Array, max: number): number {
    if (max <= 0) return NOT_COUNTED;
    const key = clientKey(client);
    const open = this.#open.get(key) ?? 0;
    if (open >= max) return REFUSED;
    this.#open.set(key, open + 1);
    return 0;
  }

  release(client: Uint8Array, handle: number): void {
    if (handle < 0) return;
    const key = clientKey(client);
    const n = (this.#open.get(key) ?? 1) - 1;
    if (n > 0) this.#open.set(key, n);
    else this.#open.delete(key);
  }

  /** Clients with a connection open (tests). */
  get clients(): number {
    return this.#open.size;
  }
}

/** The process is one event loop: its listeners count their own connections. */
export class LocalProcessWideCounts implements ProcessWideCounts {
  readonly roundRobinPosition = new Uint32Array(1);
  readonly clientConnections = new LocalClientConnectionCounts();

  listenerConnections(): undefined {
    return undefined;
  }
}
