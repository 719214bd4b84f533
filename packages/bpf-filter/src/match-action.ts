import { dns_action } from './generated/layouts.js';

/**
 * What a map entry tells its reader to do; the numbering is dnsdist's
 * MatchAction and the BPF programs' `enum dns_action`.
 */
export const MatchAction = { Pass: dns_action.ACTION_PASS, Drop: dns_action.ACTION_DROP, Truncate: dns_action.ACTION_TC } as const;
export type MatchAction = (typeof MatchAction)[keyof typeof MatchAction];

const NAMES = new Map<number, string>(Object.entries(MatchAction).map(([name, a]) => [a, name]));

export function matchActionName(a: number): string {
  return NAMES.get(a) ?? `Unknown(${a})`;
}

export function isMatchAction(a: unknown): a is MatchAction {
  return typeof a === 'number' && NAMES.has(a);
}
