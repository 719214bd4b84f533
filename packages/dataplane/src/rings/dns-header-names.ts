/**
 * The texts dnsdist prints for header fields in grepq: PowerDNS's
 * `RCode::to_s` and `Opcode::to_s`.
 */
import { HeaderFlag, rcodeName } from '@dnsdist-ts/dns';

const OPCODE_TEXT = ['Query', 'IQuery', 'Status', '3', 'Notify', 'Update'];

/** Text of a 4-bit header RCODE: "No Error", "Non-Existent domain", … "Err#11" to "Err#15". */
export function rcodeText(rcode: number): string {
  return rcodeName(rcode);
}

/** Text of a header OPCODE: "Query", "Status", "Notify", …, or the number. */
export function opcodeText(opcode: number): string {
  return OPCODE_TEXT[opcode] ?? String(opcode);
}

export { HeaderFlag };

/** OPCODE field of the 16-bit header flags word. */
export function opcodeOf(flags: number): number {
  return (flags >> 11) & 0x0f;
}

/** RCODE field of the 16-bit header flags word. */
export function rcodeOf(flags: number): number {
  return flags & 0x0f;
}
