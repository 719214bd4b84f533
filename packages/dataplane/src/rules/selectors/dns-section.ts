import { RuleArgumentError } from '../rule-errors.js';

/** dnsdist's short names of the sections, as its rule descriptions print them (DNSSection 0-3). */
const SECTION_NAMES = ['QD', 'AN', 'NS', 'AR'] as const;

/**
 * Check a DNSSection number (0 question, 1 answer, 2 authority, 3 additional).
 *
 * @throws RuleArgumentError for anything else.
 */
export function checkSection(parameter: string, section: number): number {
  if (!Number.isInteger(section) || section < 0 || section > 3) {
    throw new RuleArgumentError(
      parameter,
      section,
      `${parameter} must be a DNSSection (DNSSection.Question 0, Answer 1, Authority 2, Additional 3), not ${String(section)}`,
    );
  }
  return section;
}

export function sectionName(section: number): string {
  return SECTION_NAMES[section]!;
}

/** The header's count of entries in `section` (0-3). */
export function sectionCount(packet: Uint8Array, section: number): number {
  const at = 4 + 2 * section;
  return (packet[at]! << 8) | packet[at + 1]!;
}
