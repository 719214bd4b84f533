/**
 * dnsdist 1.7's tuning of outgoing DNS over HTTPS connections, shared by
 * every DoH backend of a proxy: how many idle connections a backend keeps,
 * how long one may stay idle, and how often idle connections are looked at.
 */
export class DohClientTuning {
  /** setMaxIdleDoHConnectionsPerDownstream: idle connections kept per backend; one more going idle is closed. */
  maxIdleConnectionsPerBackend = 10;
  /** setDoHDownstreamMaxIdleTime: seconds an idle connection is kept. */
  maxIdleTimeSeconds = 300;
  /** setDoHDownstreamCleanupInterval: seconds between passes closing connections idle for too long. */
  cleanupIntervalSeconds = 60;
  /**
   * setOutgoingDoHWorkerThreads: dnsdist's count of threads making DoH
   * connections. Here every backend connection lives on the event loop
   * that forwards the query, so the value is kept (and shown) only.
   */
  workerThreads: number | undefined = undefined;
}

/** A DoH tuning value out of range: says which function, what it got and what it takes. */
export class DohTuningError extends Error {
  readonly value: number;
  constructor(fn: string, value: number, wanted: string) {
    super(`${fn}: expected ${wanted}, got ${value}`);
    this.name = 'DohTuningError';
    this.value = value;
  }
}
