/**
 * The fixed 12-byte DNS message header (RFC 1035 4.1.1): field offsets, flag
 * bits, response and operation codes, and the texts dnsdist prints for
 * response codes.
 */

/** Bytes in the fixed header that starts every DNS message. */
export const DNS_HEADER_SIZE = 12;

/** Byte offsets of the header fields; all are big-endian 16-bit words. */
export const HeaderOffset = { ID: 0, FLAGS: 2, QDCOUNT: 4, ANCOUNT: 6, NSCOUNT: 8, ARCOUNT: 10 } as const;

/** Response codes that fit the 4-bit RCODE header field (RFC 1035, RFC 2136). */
export const Rcode = {
  NoError: 0,
  FormErr: 1,
  ServFail: 2,
  NXDomain: 3,
  NotImp: 4,
  Refused: 5,
  YXDomain: 6,
  YXRRSet: 7,
  NXRRSet: 8,
  NotAuth: 9,
  NotZone: 10,
} as const;

/** Operation codes (RFC 1035, RFC 1996 NOTIFY, RFC 2136 UPDATE). */
export const Opcode = { Query: 0, IQuery: 1, Status: 2, Notify: 4, Update: 5 } as const;

/** Bit masks on the 16-bit flags word (header bytes 2-3, big-endian). */
export const HeaderFlag = { QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080, AD: 0x0020, CD: 0x0010 } as const;

/** Where OPCODE and RCODE sit inside the flags word. */
export const OPCODE_SHIFT = 11;
export const OPCODE_MASK = 0x7800;
export const RCODE_MASK = 0x000f;

/**
 * Long texts for codes 0-23, as dnsdist's RCode/ERCode::to_s print them
 * (PowerDNS dns.cc). 11-15 are unassigned and print as "Err#N".
 */
const RCODE_TEXTS: readonly string[] = [
  'No Error',
  'Form Error',
  'Server Failure',
  'Non-Existent domain',
  'Not Implemented',
  'Query Refused',
  'Name Exists when it should not',
  'RR Set Exists when it should not',
  'RR Set that should exist does not',
  'Server Not Authoritative for zone / Not Authorized',
  'Name not contained in zone',
  'Err#11',
  'Err#12',
  'Err#13',
  'Err#14',
  'Err#15',
  'Bad OPT Version / TSIG Signature Failure',
  'Key not recognized',
  'Signature out of time window',
  'Bad TKEY Mode',
  'Duplicate key name',
  'Algorithm not supported',
  'Bad Truncation',
  'Bad/missing Server Cookie',
];

/** Short names for the 4-bit codes, indexed by code, as PowerDNS's RCode::from_short accepts them. */
const RCODE_SHORT_NAMES: readonly string[] = [
  'noerror',
  'formerr',
  'servfail',
  'nxdomain',
  'notimp',
  'refused',
  'yxdomain',
  'yxrrset',
  'nxrrset',
  'notauth',
  'notzone',
  'rcode11',
  'rcode12',
  'rcode13',
  'rcode14',
  'rcode15',
];

/**
 * The text dnsdist prints for a header RCODE (its RCode::to_s): 3 gives
 * "Non-Existent domain", 5 "Query Refused". Codes above 15 cannot be in the
 * header and give "ErrOutOfRange", as in dnsdist; use `extendedRcodeName` for those.
 */
export function rcodeName(rcode: number): string {
  if (!Number.isInteger(rcode) || rcode < 0 || rcode > 0xf) return 'ErrOutOfRange';
  return RCODE_TEXTS[rcode]!;
}

/**
 * The text for a full 12-bit extended RCODE (header bits plus the OPT
 * record's upper bits), as dnsdist's ERCode::to_s prints it: 16 gives
 * "Bad OPT Version / TSIG Signature Failure"; unknown codes give "Err#N".
 */
export function extendedRcodeName(rcode: number): string {
  if (Number.isInteger(rcode) && rcode >= 0 && rcode < RCODE_TEXTS.length) return RCODE_TEXTS[rcode]!;
  return `Err#${rcode}`;
}

/**
 * Read a header RCODE from text, ignoring case: "NXDomain", "servfail",
 * "REFUSED", "noerror", ... (the DNSRCode names), "rcode11" to "rcode15",
 * or a decimal number 0-15. Returns undefined for anything else, including
 * extended codes such as "badcookie" that do not fit the header.
 */
export function parseRcode(text: string): number | undefined {
  const lowered = text.trim().toLowerCase();
  const index = RCODE_SHORT_NAMES.indexOf(lowered);
  if (index >= 0) return index;
  if (/^[0-9]{1,2}$/.test(lowered)) {
    const value = Number(lowered);
    return value <= 0xf ? value : undefined;
  }
  return undefined;
}

/** The query ID (bytes 0-1). The caller makes sure the buffer holds a header. */
export function readId(buf: Uint8Array): number {
  return (buf[0]! << 8) | buf[1]!;
}

export function writeId(buf: Uint8Array, id: number): void {
  buf[0] = (id >>> 8) & 0xff;
  buf[1] = id & 0xff;
}

/** The 16-bit flags word (bytes 2-3): QR, OPCODE, AA, TC, RD, RA, Z, AD, CD, RCODE. */
export function readFlags(buf: Uint8Array): number {
  return (buf[2]! << 8) | buf[3]!;
}

export function writeFlags(buf: Uint8Array, flags: number): void {
  buf[2] = (flags >>> 8) & 0xff;
  buf[3] = flags & 0xff;
}
