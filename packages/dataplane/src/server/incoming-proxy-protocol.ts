/**
 * Queries that arrive behind a proxy protocol v2 header (dnsdist 1.7's
 * setProxyProtocolACL): senders in the ACL must send one, and the client it
 * names is the one the ACL (optionally), dynamic blocks, rules, rings and
 * logs see; everyone else's queries are read as plain DNS.
 */
import {
  NetmaskGroup,
  parseProxyProtocolHeader,
  PROXY_PROTOCOL_DEFAULT_MAX_PAYLOAD,
  PROXY_PROTOCOL_FIXED_SIZE,
  type ProxyProtocolValue,
} from '@dnsdist-ts/dns';
import { SocketAddress } from '../query/client-address.js';

/** The client a header named, and where the query really came from (answers go there). */
export interface ProxiedClient {
  remote: SocketAddress;
  local: SocketAddress;
  /** The sender of the header (a load balancer); UDP answers go back to it. */
  peer: SocketAddress;
  values: ProxyProtocolValue[];
  /** Bytes of the header: the DNS data starts there. */
  size: number;
}

/** Why a header was refused, for the counters. */
export type ProxyHeaderVerdict = ProxiedClient | 'invalid' | 'incomplete' | 'acl';

export class IncomingProxyProtocol {
  /** setProxyProtocolACL: who must send a header (nobody when empty). */
  acl = new NetmaskGroup();
  /** setProxyProtocolMaximumPayloadSize: the largest header accepted, fixed part included. */
  maxPayloadSize = PROXY_PROTOCOL_DEFAULT_MAX_PAYLOAD;
  /** setProxyProtocolApplyACLToProxiedClients: the client the header names must pass setACL too. */
  applyACLToProxiedClients = false;

  /** Must a query from this address come behind a header? */
  expectsFrom(address: Uint8Array): boolean {
    return this.acl.size() > 0 && this.acl.match(address);
  }

  /**
   * Read the header at the start of `data[0..length)` sent by `peer` to
   * `local`. `incomplete` only over TCP, where more bytes may come; a
   * LOCAL header leaves the client as the peer. `clientAcl` is setACL's.
   */
  read(
    data: Uint8Array,
    length: number,
    peer: SocketAddress,
    local: SocketAddress,
    tcp: boolean,
    clientAcl: NetmaskGroup,
  ): ProxyHeaderVerdict {
    const h = parseProxyProtocolHeader(data, length, Math.max(0, this.maxPayloadSize - PROXY_PROTOCOL_FIXED_SIZE));
    if (h === -2 && tcp) return 'incomplete';
    if (typeof h === 'number') return 'invalid';
    if (h.local) return { remote: peer, local, peer, values: h.values, size: h.size };
    const remote = new SocketAddress(h.source!, h.sourcePort);
    if (this.applyACLToProxiedClients && !clientAcl.match(remote.bytes)) return 'acl';
    return { remote, local: new SocketAddress(h.destination!, h.destinationPort), peer, values: h.values, size: h.size };
  }
}
