/**
 * The actions a dynamic block can carry, and how dnsdist names them in
 * showDynBlocks(), the rules group's toString() and the logs.
 */
import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';

const ACTION_TEXT = new Map<number, string>([
  [DNSAction.Drop, 'Drop'],
  [DNSAction.Nxdomain, 'Send NXDomain'],
  [DNSAction.Refused, 'Send Refused'],
  [DNSAction.Spoof, 'Spoof an answer'],
  [DNSAction.Allow, 'Allow'],
  [DNSAction.HeaderModify, 'Modify the header'],
  [DNSAction.Pool, 'Route to a pool'],
  [DNSAction.Delay, 'Delay'],
  [DNSAction.Truncate, 'Truncate over UDP'],
  [DNSAction.ServFail, 'Send ServFail'],
  [DNSAction.None, 'Do nothing'],
  [DNSAction.NoOp, 'Do nothing'],
  [DNSAction.NoRecurse, 'Set rd=0'],
  [DNSAction.SpoofRaw, 'Spoof an answer from raw bytes'],
  [DNSAction.SpoofPacket, 'Spoof a raw answer from bytes'],
  [DNSAction.SetTag, 'Set Tag'],
]);

/** dnsdist's DNSAction::typeToString: "Drop", "Send NXDomain", "Truncate over UDP", "Do nothing", … */
export function dnsActionText(action: number): string {
  return ACTION_TEXT.get(action) ?? 'Unknown';
}

/** What setDynBlocksAction accepts (dnsdist 1.7.3 and later). */
export const DEFAULT_ACTION_CHOICES: readonly DNSActionCode[] = [
  DNSAction.Drop,
  DNSAction.NoOp,
  DNSAction.Nxdomain,
  DNSAction.Refused,
  DNSAction.Truncate,
  DNSAction.NoRecurse,
];

/** dnsdist's reply when setDynBlocksAction gets anything else. */
export const DEFAULT_ACTION_REFUSED_TEXT = 'Dynamic blocks action can only be Drop, NoOp, NXDomain, Refused, Truncate or NoRecurse!';

/** Whether setDynBlocksAction accepts `action`. */
export function isDefaultActionChoice(action: number): action is DNSActionCode {
  return (DEFAULT_ACTION_CHOICES as readonly number[]).includes(action);
}

/** Whether `action` is one of the DNSAction numbers at all. */
export function isDnsAction(action: number): action is DNSActionCode {
  return ACTION_TEXT.has(action);
}
