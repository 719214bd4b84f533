import type { DNSQuestion } from '../query/dns-question.js';
import { BackendConnection, BackendTcpConnections } from './backend-tcp-connections.js';

/**
 * Idle connections kept per backend (dnsdist's default for
 * setMaxIdleTCPConnectionsPerDownstream); one that goes idle beyond them is
 * closed.
 */
const MAX_IDLE_CONNECTIONS = 10;

/**
 * TCP connections to one backend, reused across queries of every client
 * (what they do alike is in BackendTcpConnections). With maxInFlight, each
 * query gets an ID unique on its connection and answers may come back in any
 * order.
 */
export class TcpBackendPool extends BackendTcpConnections<BackendConnection> {
  /** Live connections with nothing pending, the most recently used last. */
  #idle: BackendConnection[] = [];

  /**
   * The connection for the next query (never one the backend has closed or
   * that is dying: those are out of the connections). With maxInFlight, a busy
   * connection with room is preferred, the busiest first, so queries pack
   * onto few connections and the frames written in one turn of the event
   * loop leave in one write; then an idle one; a new connection opens only
   * when none can take the query.
   */
  protected override pick(_dq: DNSQuestion): BackendConnection {
    const limit = this.limit();
    if (limit > 1) {
      let best: BackendConnection | undefined;
      for (const c of this.connections) {
        const n = c.pending.size;
        if (n === 0 || n >= limit || c.dead) continue;
        if (!best || n > best.pending.size) best = c;
      }
      if (best) {
        this.owner.counters.tcpReusedConnections++;
        return best;
      }
    }
    const idle = this.#idle.pop();
    if (idle !== undefined) {
      this.owner.counters.tcpReusedConnections++;
      return idle;
    }
    return this.connect(new BackendConnection());
  }

  protected override replace(): BackendConnection {
    return this.connect(new BackendConnection());
  }

  /** Kept for the next query, or closed when enough are idle. */
  protected override wentIdle(conn: BackendConnection): void {
    if (this.#idle.length < MAX_IDLE_CONNECTIONS) {
      this.#idle.push(conn);
      return;
    }
    this.retire(conn);
    conn.stream.destroy();
  }

  protected override forget(conn: BackendConnection): void {
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  override close(): void {
    super.close();
    this.#idle = [];
  }
}
