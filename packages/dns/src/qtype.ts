/**
 * Query type numbers and their names, as dnsdist prints and accepts them
 * (the `DNSQType` table in Lua).
 */
export const QType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  RP: 17,
  AFSDB: 18,
  SIG: 24,
  KEY: 25,
  AAAA: 28,
  LOC: 29,
  SRV: 33,
  NAPTR: 35,
  KX: 36,
  CERT: 37,
  DNAME: 39,
  OPT: 41,
  APL: 42,
  DS: 43,
  SSHFP: 44,
  IPSECKEY: 45,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  DHCID: 49,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  SMIMEA: 53,
  CDS: 59,
  CDNSKEY: 60,
  OPENPGPKEY: 61,
  CSYNC: 62,
  ZONEMD: 63,
  SVCB: 64,
  HTTPS: 65,
  SPF: 99,
  NID: 104,
  L32: 105,
  L64: 106,
  LP: 107,
  EUI48: 108,
  EUI64: 109,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
  URI: 256,
  CAA: 257,
} as const;

const NAMES = new Map<number, string>(Object.entries(QType).map(([k, v]) => [v, k]));

/** "A", "AAAA", … or "TYPE1234" for numbers without a name (RFC 3597). */
export function qtypeName(qtype: number): string {
  return NAMES.get(qtype) ?? `TYPE${qtype}`;
}

/** A qtype from its name ("aaaa", "TYPE65") or number; undefined if unknown. */
export function parseQType(text: string): number | undefined {
  const upper = text.toUpperCase();
  if (upper in QType) return QType[upper as keyof typeof QType];
  const m = /^(?:TYPE)?(\d{1,5})$/.exec(upper);
  if (m && Number(m[1]) <= 65535) return Number(m[1]);
  return undefined;
}
