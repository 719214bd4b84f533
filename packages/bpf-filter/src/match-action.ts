/**
 * What a map entry tells its reader to do; the numbering is dnsdist's
 * MatchAction and the XDP program's `enum dns_action`.
 */
export const MatchAction = { Pass: 0, Drop: 1, Truncate: 2 } as const;
export type MatchAction = (typeof MatchAction)[keyof typeof MatchAction];

const NAMES: Record<number, string> = { 0: 'Pass', 1: 'Drop', 2: 'Truncate' };

export function matchActionName(a: number): string {
  return NAMES[a] ?? `Unknown(${a})`;
}

export function isMatchAction(a: unknown): a is MatchAction {
  return a === 0 || a === 1 || a === 2;
}
