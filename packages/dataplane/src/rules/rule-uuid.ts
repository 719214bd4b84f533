import { randomUUID } from 'node:crypto';
import { InvalidRuleUuidError } from './rule-errors.js';

const UUID_FORMS = /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

/**
 * The canonical text (lower case, 8-4-4-4-12) of a UUID written the ways
 * dnsdist's parser takes it: with or without dashes, optionally in braces.
 * Undefined when the text is not a UUID.
 */
export function parseRuleUuid(text: string): string | undefined {
  const m = UUID_FORMS.exec(text.trim());
  if (!m) return undefined;
  return `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}`.toLowerCase();
}

/**
 * A rule's UUID: the given one in canonical form, or a random one.
 *
 * @throws InvalidRuleUuidError when `given` is not a UUID.
 */
export function makeRuleUuid(given?: string): string {
  if (given === undefined || given === '') return randomUUID();
  const uuid = parseRuleUuid(given);
  if (uuid === undefined) throw new InvalidRuleUuidError(given);
  return uuid;
}
