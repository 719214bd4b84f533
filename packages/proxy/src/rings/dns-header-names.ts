/**
 * The texts dnsdist prints for header fields in grepq: PowerDNS's
 * `RCode::to_s` and `Opcode::to_s`.
 */

const RCODE_TEXT = [
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
];

const OPCODE_TEXT = ['Query', 'IQuery', 'Status', '3', 'Notify', 'Update'];

/** Text of a 4-bit header RCODE: "No Error", "Non-Existent domain", … "Err#11" to "Err#15". */
export function rcodeText(rcode: number): string {
  if (rcode > 15) return 'ErrOutOfRange';
  return RCODE_TEXT[rcode] ?? `Err#${rcode}`;
}

/** Text of a header OPCODE: "Query", "Status", "Notify", …, or the number. */
export function opcodeText(opcode: number): string {
  return OPCODE_TEXT[opcode] ?? String(opcode);
}

/** Header flag bits, in the 16-bit word after the ID. */
export const HeaderFlag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
} as const;

/** OPCODE field of the 16-bit header flags word. */
export function opcodeOf(flags: number): number {
  return (flags >> 11) & 0x0f;
}

/** RCODE field of the 16-bit header flags word. */
export function rcodeOf(flags: number): number {
  return flags & 0x0f;
}
