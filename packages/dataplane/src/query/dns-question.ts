import type { DnsQueryView, ProxyProtocolValue } from '@dnsdist-ts/dns';
import type { SocketAddress } from './client-address.js';
import type { ClientSession } from './client-session.js';
import type { HttpQueryInfo } from './http-query-info.js';
import { DEFAULT_SELF_GENERATED_EDNS, type SelfGeneratedEdnsSettings } from './self-generated-edns.js';

export type Transport = 'udp' | 'tcp';

/** A subnet to send as EDNS Client Subnet: network-order address bytes (4 or 16), host bits cleared, and its prefix length. */
export interface ClientSubnet {
  readonly address: Uint8Array;
  readonly bits: number;
}

/**
 * One query on its way through the proxy: dnsdist's DNSQuestion. Rule
 * actions read it and may change it in place (header bits, the pool, tags,
 * or a whole replacement packet for a self-generated answer).
 *
 * The packet buffer belongs to the query: actions may rewrite it. After the
 * rules, `view` describes `packet[0..length)` as received; when an action
 * replaced the packet it also re-parses the view.
 */
export class DNSQuestion {
  packet: Buffer;
  length: number;
  readonly view: DnsQueryView;
  remote: SocketAddress;
  local: SocketAddress;
  transport: Transport;
  /** The encrypted session the query came in on (DoT); undefined for plain UDP and TCP. */
  session: ClientSession | undefined = undefined;
  /** Pool the query goes to; "" is the default pool. */
  pool = '';
  /** Set by DelayAction: milliseconds to hold the UDP answer back. */
  delayMs = 0;
  /** Set by ERCodeAction: the upper 8 bits of a 12-bit RCODE, for the OPT record of the answer made from the query. */
  ednsRcode = 0;
  /** Set by SetEDNSOptionAction when it gave the query an OPT record: the answer's is removed before the client sees it. */
  ednsAdded = false;
  /** Tags set by SetTagAction and read by TagRule; created on first use. */
  tags: Map<string, string> | undefined;
  /** Set from Lua (dq.skipCache = true): neither look the answer up in the cache nor store it. */
  skipCache = false;
  /** Set from Lua (dq.tempFailureTTL): cache TTL for a SERVFAIL/REFUSED answer instead of the cache's. */
  tempFailureTTL: number | undefined = undefined;
  /**
   * dnsdist's per-query EDNS Client Subnet switches (SetDisableECSAction,
   * SetECSOverrideAction, SetECSPrefixLengthAction, Lua). They matter only
   * when the query goes to a backend with useClientSubnet (or, with no
   * backend, to a pool with setECS). The query path sets ecsOverride and
   * ecsPrefixLength from setECSOverride / setECSSourcePrefixV4/V6 when the
   * query arrives; undefined prefix length means the family's default.
   */
  useECS = true;
  /** dnsdist's dq.addXPF: false keeps the XPF record of an addXPF backend off this query. */
  addXPF = true;
  ecsOverride = false;
  ecsPrefixLength: number | undefined = undefined;
  /** Set by SetECSAction: the subnet sent instead of the client's address and ecsPrefixLength. */
  ecsSubnet: ClientSubnet | undefined = undefined;
  /** The ECS option in the query is ours: it is taken out of the answer (dnsdist's ecsAdded). */
  ecsAdded = false;
  /**
   * The query came without ECS and its pool's cache parses ECS: an answer
   * with scope 0 is cached for every client under `cacheKeyNoECS` (dnsdist's
   * zero-scope feature).
   */
  useZeroScope = false;
  /** The cache key of the query before its ECS option was added (with useZeroScope). */
  cacheKeyNoECS = 0;
  /** The HTTP request of a DNS over HTTPS query; undefined for every other transport. */
  http: HttpQueryInfo | undefined = undefined;
  /**
   * The TLVs of the proxy protocol header sent before this query to a
   * useProxyProtocol backend: those the client's own header carried, then
   * what SetProxyProtocolValuesAction, SetAdditionalProxyProtocolValueAction
   * and dq:setProxyProtocolValues made of them.
   */
  proxyProtocolValues: ProxyProtocolValue[] | undefined = undefined;
  /** When a proxy protocol header named the client: who sent the query (UDP answers go there, not to `remote`). */
  peer: SocketAddress | undefined = undefined;
  /** Monotonic receive time in milliseconds (performance.now() clock). */
  receivedAt: number;
  /**
   * The header flags (bytes 2–3) as the client sent them: answers from a
   * backend or the cache get the client's RD and CD bits back, whatever
   * the rules sent on (dnsdist's origFlags).
   */
  origFlags = 0;
  /**
   * The proxy's settings for the OPT record of answers made from this query
   * (set by the query path; dnsdist's defaults otherwise).
   */
  selfGeneratedEdns: SelfGeneratedEdnsSettings = DEFAULT_SELF_GENERATED_EDNS;
  /**
   * The buffer a pooled question owns (the query path reuses questions);
   * `packet` points elsewhere only after an action replaced the packet.
   */
  readonly ownBuffer: Buffer;

  constructor(
    packet: Buffer,
    length: number,
    view: DnsQueryView,
    remote: SocketAddress,
    local: SocketAddress,
    transport: Transport,
    receivedAt: number,
  ) {
    this.packet = packet;
    this.length = length;
    this.view = view;
    this.remote = remote;
    this.local = local;
    this.transport = transport;
    this.receivedAt = receivedAt;
    this.ownBuffer = packet;
  }

  /**
   * Did the client reach us over a stream (TCP, DoT, DoH)? dnsdist's
   * overTCP: DoH queries travel to backends over UDP, yet they are TCP
   * queries for the proxy protocol header.
   */
  overTcp(): boolean {
    return this.transport === 'tcp' || this.http !== undefined;
  }

  /**
   * Make a pooled question describe a new query whose `length` bytes are
   * already in `ownBuffer`. The view is parsed by the caller.
   */
  reuse(length: number, remote: SocketAddress, local: SocketAddress, transport: Transport, receivedAt: number): void {
    this.packet = this.ownBuffer;
    this.length = length;
    this.remote = remote;
    this.local = local;
    this.transport = transport;
    this.receivedAt = receivedAt;
    this.session = undefined;
    this.pool = '';
    this.delayMs = 0;
    this.ednsRcode = 0;
    this.ednsAdded = false;
    this.tags = undefined;
    this.skipCache = false;
    this.tempFailureTTL = undefined;
    this.useECS = true;
    this.addXPF = true;
    this.ecsOverride = false;
    this.ecsPrefixLength = undefined;
    this.ecsSubnet = undefined;
    this.ecsAdded = false;
    this.useZeroScope = false;
    this.cacheKeyNoECS = 0;
    this.http = undefined;
    this.proxyProtocolValues = undefined;
    this.peer = undefined;
  }

  /** The bytes that would go out now (the query, or the answer an action made). */
  bytes(): Buffer {
    return this.packet.subarray(0, this.length);
  }

  /** Replace the packet wholesale (spoofed answers); the view is re-parsed on it. */
  replacePacket(packet: Buffer): void {
    this.packet = packet;
    this.length = packet.length;
    this.view.parse(packet, packet.length);
  }

  setTag(name: string, value: string): void {
    (this.tags ??= new Map()).set(name, value);
  }

  getTag(name: string): string | undefined {
    return this.tags?.get(name);
  }
}
