/**
 * One cached answer and what its query looked like. Lookups compare the
 * query fields to tell a real hit from a key collision (dnsdist's
 * cachedValueMatches).
 */
export class CacheEntry {
  /** The backend's response as received; served with the query's ID, qname case and aged TTLs. */
  readonly response: Buffer;
  /** The query's qname in wire form, original case (compared case-insensitively). */
  readonly qnameWire: Buffer;
  readonly qtype: number;
  readonly qclass: number;
  /** The query's 16-bit header flags word. */
  readonly queryFlags: number;
  /** The query's EDNS DO bit. */
  readonly dnssecOK: boolean;
  /** Whether the query came over UDP (UDP and TCP answers are kept apart). */
  readonly overUdp: boolean;
  /** Canonical ECS source subnet (see client-subnet.ts), when the cache parses ECS and the query had one. */
  readonly subnet: Uint8Array | undefined;
  /** Clock second the entry was stored. */
  readonly added: number;
  /** Clock second from which the entry is expired (`added` + its TTL). */
  readonly validity: number;

  constructor(
    response: Buffer,
    qnameWire: Buffer,
    qtype: number,
    qclass: number,
    queryFlags: number,
    dnssecOK: boolean,
    overUdp: boolean,
    subnet: Uint8Array | undefined,
    added: number,
    validity: number,
  ) {
    this.response = response;
    this.qnameWire = qnameWire;
    this.qtype = qtype;
    this.qclass = qclass;
    this.queryFlags = queryFlags;
    this.dnssecOK = dnssecOK;
    this.overUdp = overUdp;
    this.subnet = subnet;
    this.added = added;
    this.validity = validity;
  }

  /** The response's RCODE (header low nibble). */
  get rcode(): number {
    return this.response[3]! & 0x0f;
  }
}
