import { DNS_HEADER_SIZE } from '@dnsdist-ts/dns';
import type { ReplyChannel } from '../backend/inflight-query.js';
import type { UdpEndpoint } from '../io/udp-endpoint.js';
import { SocketAddress, sameAddressBytes } from '../query/client-address.js';
import { ClientAddressCache } from '../query/client-address-cache.js';
import type { DNSQuestion } from '../query/dns-question.js';
import { CellSet } from '../stats/counter-cells.js';
import type { FrontendCounters, QueryProcessor } from './query-processor.js';

/** A UDP listener's counters, in cells (shared live with data-plane workers: counter-cells.ts). */
const UDP_CELLS = new CellSet({ queries: 'counter', responses: 'counter', nonCompliantQueries: 'counter' });

/** One UDP listener (a `setLocal`/`addLocal` address): datagrams in, answers out. */
export class UdpFrontend implements ReplyChannel, FrontendCounters {
  readonly endpoint: UdpEndpoint;
  readonly local: SocketAddress;
  readonly #clients = new ClientAddressCache();
  /** Bound to 0.0.0.0 or ::: the endpoint may tell each query's own local address. */
  readonly #wildcard: boolean;
  #lastTo: SocketAddress | undefined;
  declare queries: number;
  declare responses: number;
  declare nonCompliantQueries: number;

  constructor(endpoint: UdpEndpoint, local: SocketAddress, processor: QueryProcessor) {
    UDP_CELLS.install(this);
    this.endpoint = endpoint;
    this.local = local;
    this.#wildcard = local.isWildcard();
    endpoint.onDatagram((data, length, from, fromPort, to) => {
      // dnsdist checks the size before the ACL: a short datagram from anyone is noncompliant, not an ACL drop.
      if (length < DNS_HEADER_SIZE) return processor.countTooShort(this);
      if (!processor.aclAllows(from)) return;
      const local = to === undefined ? this.local : this.#localFor(to);
      if (processor.expectsProxyHeader(from))
        return processor.handleProxiedDatagram(data, length, this.#clients.get(from, fromPort), local, this, this);
      processor.handleQuery(data, length, this.#clients.get(from, fromPort), local, 'udp', this, this);
    });
  }

  sendAnswer(dq: DNSQuestion, data: Buffer, length: number): void {
    this.responses++;
    // On a wildcard listener the answer leaves from the address the query came to, as dnsdist's does.
    // A proxied query's dq.local is the header's, not ours: its answer goes to the sender by route.
    const to = dq.peer ?? dq.remote;
    const source = this.#wildcard && dq.peer === undefined && dq.local !== this.local ? dq.local.bytes : undefined;
    this.endpoint.send(data, length, to.bytes, to.port, source);
  }

  /**
   * The local address a query on the wildcard listener came to. A host has
   * few addresses and queries come in runs to the same one: the last one
   * made is kept, so the common case allocates nothing.
   */
  #localFor(to: Uint8Array): SocketAddress {
    const last = this.#lastTo;
    if (last !== undefined && sameAddressBytes(last.bytes, to)) return last;
    const made = new SocketAddress(Uint8Array.from(to), this.local.port);
    this.#lastTo = made;
    return made;
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}
