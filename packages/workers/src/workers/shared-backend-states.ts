/**
 * The configuration's backends' up/down state in shared memory: the
 * control plane's backends keep theirs there (its health checks and the
 * console's setUp/setDown/setAuto write it), and each data-plane worker's
 * copy of the same backend reads it there for every query, so a verdict
 * counts in every worker from the next query on, with no message and no
 * poll. Two Int32 words per backend (DownstreamServer.shareState), in the
 * configuration's order. Backends added at the console follow the control
 * plane through the 'servers' message instead (worker-pool.ts).
 */
import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';

/** Words per backend: availability, health-check verdict. */
const WORDS = 2;

export class SharedBackendStates {
  /** A buffer for the configuration's backends `servers`. */
  static create(servers: readonly DownstreamServer[]): SharedArrayBuffer {
    return new SharedArrayBuffer(Math.max(1, servers.length) * WORDS * 4);
  }

  /**
   * Point `servers` (the configuration's, in order) at `buffer`: the control
   * plane's with what they have now (`decides`), a worker's to follow it.
   * False, and nothing shared, when the buffer is not for this many backends.
   */
  static attach(buffer: SharedArrayBuffer, servers: readonly DownstreamServer[], decides: boolean): boolean {
    if (buffer.byteLength !== Math.max(1, servers.length) * WORDS * 4) return false;
    servers.forEach((s, i) => s.shareState(new Int32Array(buffer, i * WORDS * 4, WORDS), decides));
    return true;
  }
}
