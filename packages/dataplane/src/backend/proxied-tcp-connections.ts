/**
 * TCP connections to a `useProxyProtocol` backend. Each opens with a proxy
 * protocol header naming one client, so, as in dnsdist 1.7, a connection
 * belongs to the client connection it was opened for: that client's later
 * queries reuse it (pipelined up to maxInFlight) as long as they carry the
 * same TLVs, no other client's query ever goes on it, and it is closed with
 * the client's connection. A query from a UDP client (tcpOnly backend) gets
 * a connection of its own, closed after the answer.
 */
import type { ProxyProtocolValue } from '@dnsdist-ts/dns';
import type { DNSQuestion } from '../query/dns-question.js';
import { BackendConnection, BackendTcpConnections } from './backend-tcp-connections.js';
import type { ReplyChannel } from './inflight-query.js';
import { makeQueryProxyHeader, sameProxyProtocolValues } from './proxy-protocol-payload.js';

/** A backend connection that opened with `header` and belongs to `client`. */
class ProxiedConnection extends BackendConnection {
  readonly header: Buffer;
  readonly client: ReplyChannel | undefined;
  readonly values: readonly ProxyProtocolValue[] | undefined;

  constructor(header: Buffer, client: ReplyChannel | undefined, values: readonly ProxyProtocolValue[] | undefined) {
    super();
    this.header = header;
    this.client = client;
    this.values = values;
  }
}

export class ProxiedTcpConnections extends BackendTcpConnections<ProxiedConnection> {
  /** Live connections by the client connection that owns them (undefined: one-query connections of UDP clients). */
  readonly #byClient = new Map<ReplyChannel | undefined, ProxiedConnection[]>();

  protected override pick(dq: DNSQuestion, reply: ReplyChannel): ProxiedConnection | undefined {
    // A client whose addresses mix IPv4 and IPv6 (no header can say it): dropped, as dnsdist does.
    if (dq.remote.family !== dq.local.family) return undefined;
    // A connection can only belong to a client whose end we learn of; any other gets one per query.
    const client = dq.transport === 'tcp' && reply.onClose !== undefined ? reply : undefined;
    if (client !== undefined) {
      const limit = this.limit();
      for (const c of this.#byClient.get(client) ?? []) {
        if (c.pending.size < limit && sameProxyProtocolValues(c.values, dq.proxyProtocolValues)) {
          this.owner.counters.tcpReusedConnections++;
          return c;
        }
      }
    }
    // Values are kept as they were sent: the query's list may be changed by the next query's rules.
    return this.#open(makeQueryProxyHeader(dq, true)!, client, dq.proxyProtocolValues?.slice());
  }

  /** Queries of a dead connection go out again behind the same header, on a connection of the same client. */
  protected override replace(dead: ProxiedConnection): ProxiedConnection {
    return this.#open(dead.header, dead.client, dead.values);
  }

  #open(header: Buffer, client: ReplyChannel | undefined, values: readonly ProxyProtocolValue[] | undefined): ProxiedConnection {
    const conn = new ProxiedConnection(header, client, values);
    let list = this.#byClient.get(client);
    if (list === undefined) {
      list = [];
      this.#byClient.set(client, list);
      // The client's connection ends: so do the backend connections it owned.
      client?.onClose?.(() => this.#release(client));
    }
    list.push(conn);
    return this.connect(conn, header);
  }

  /** A UDP client's connection carried its one query; a TCP client's stays for its next ones. */
  protected override wentIdle(conn: ProxiedConnection): void {
    if (conn.client !== undefined) return;
    this.retire(conn);
    conn.stream.destroy();
  }

  protected override forget(conn: ProxiedConnection): void {
    const list = this.#byClient.get(conn.client);
    if (list === undefined) return;
    const i = list.indexOf(conn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0 && conn.client === undefined) this.#byClient.delete(undefined);
  }

  /** The client connection closed: its backend connections close, what they still wait for is lost. */
  #release(client: ReplyChannel): void {
    const list = this.#byClient.get(client);
    this.#byClient.delete(client);
    for (const conn of list ?? []) this.closeLosing(conn, false);
  }

  override close(): void {
    super.close();
    this.#byClient.clear();
  }
}
