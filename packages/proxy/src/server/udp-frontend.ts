import { DNS_HEADER_SIZE } from '@dnsdist-ts/dns';
import type { ReplyChannel } from '../backend/inflight-query.js';
import type { UdpEndpoint } from '../io/udp-endpoint.js';
import type { SocketAddress } from '../query/client-address.js';
import { ClientAddressCache } from '../query/client-address-cache.js';
import type { DNSQuestion } from '../query/dns-question.js';
import type { FrontendCounters, QueryProcessor } from './query-processor.js';

/** One UDP listener (a `setLocal`/`addLocal` address): datagrams in, answers out. */
export class UdpFrontend implements ReplyChannel, FrontendCounters {
  readonly endpoint: UdpEndpoint;
  readonly local: SocketAddress;
  readonly #clients = new ClientAddressCache();
  queries = 0;
  responses = 0;
  nonCompliantQueries = 0;

  constructor(endpoint: UdpEndpoint, local: SocketAddress, processor: QueryProcessor) {
    this.endpoint = endpoint;
    this.local = local;
    endpoint.onDatagram((data, length, from, fromPort) => {
      // dnsdist checks the size before the ACL: a short datagram from anyone is noncompliant, not an ACL drop.
      if (length < DNS_HEADER_SIZE) return processor.countTooShort(this);
      if (!processor.aclAllows(from)) return;
      if (processor.expectsProxyHeader(from))
        return processor.handleProxiedDatagram(data, length, this.#clients.get(from, fromPort), this.local, this, this);
      processor.handleQuery(data, length, this.#clients.get(from, fromPort), this.local, 'udp', this, this);
    });
  }

  sendAnswer(dq: DNSQuestion, data: Buffer, length: number): void {
    this.responses++;
    const to = dq.peer ?? dq.remote;
    this.endpoint.send(data, length, to.bytes, to.port);
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}
