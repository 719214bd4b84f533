/**
 * Walking the query rules, with dnsdist 1.7's processRulesResult semantics:
 * each matching rule's action runs, and its result code decides whether the
 * walk goes on.
 *
 * - Stop: Allow, Drop, Nxdomain, Refused, ServFail, Spoof, SpoofRaw,
 *   SpoofPacket, HeaderModify, Pool, NoRecurse, and Truncate for UDP
 *   queries.
 * - Go on: Delay, None, NoOp, SetTag, Truncate for TCP queries (since
 *   1.7.0 a TC=1 answer is only made over UDP), and unknown codes.
 *
 * The codes a Lua action can return without having done the work
 * (Nxdomain, Refused, ServFail, Truncate, NoRecurse) are applied to the
 * header here. Pool, Delay and the Spoof codes expect the action to have set
 * dq.pool / dq.delayMs / the answer already.
 *
 * After the walk, Drop means drop; otherwise a query whose header now has
 * QR=1 has been turned into its answer (its RD/CD bits restored and, when
 * its only record is its OPT record, that record replaced by a fresh one
 * carrying the extended RCODE and the self-generated payload size, or removed
 * when self-generated answers carry no EDNS, as dnsdist's
 * fixUpQueryTurnedResponse does);
 * anything else goes to a backend.
 */
import { HeaderFlag, makeTruncatedResponse, RCODE_MASK, Rcode, readFlags, writeFlags } from '@dnsdist-ts/dns';
import { DNSAction, type DNSActionCode } from '../query/dns-action.js';
import type { DNSQuestion } from '../query/dns-question.js';
import type { QueryVerdictCode } from '../query/query-verdict.js';
import { fixUpQueryTurnedResponseOpt } from '../query/self-generated-edns.js';
import { QueryVerdict } from '../query/query-verdict.js';
import type { RuleEntry } from './rule-chain.js';
import type { QueryAction, Selector } from './rule-types.js';

/** A query rule as the walk sees it. */
export type QueryRule = RuleEntry<Selector, QueryAction>;

/** What a walk ended with; reuse one per caller to keep the walk allocation-free. */
export class QueryRulesResult {
  /** Forward (to a backend), Drop, or Respond (`dq.packet` holds the answer). */
  verdict: QueryVerdictCode = QueryVerdict.Forward;
  /** The code of the action that stopped the walk; undefined when every rule was passed. */
  action: DNSActionCode | undefined = undefined;
  /** Index of the rule that stopped the walk, -1 when none did. */
  ruleIndex = -1;
  /** A TCAction (or Truncate code) turned a UDP query into a TC=1 answer: dnsdist's rule-truncated. */
  truncated = false;
  /** RCODE of the answer when the verdict is Respond. */
  rcode = 0;

  reset(): this {
    this.verdict = QueryVerdict.Forward;
    this.action = undefined;
    this.ruleIndex = -1;
    this.truncated = false;
    this.rcode = 0;
    return this;
  }
}

/** Set QR and an RCODE, leaving the other bits: dnsdist's handling of the Nxdomain/Refused/ServFail codes. */
function setRcode(dq: DNSQuestion, rcode: number): void {
  writeFlags(dq.packet, (readFlags(dq.packet) & ~RCODE_MASK) | HeaderFlag.QR | rcode);
}

/**
 * Apply one action result code to `dq` as dnsdist's processRulesResult does.
 * Returns true when the walk stops here. Sets `result.truncated` when a TC
 * answer was made.
 */
export function applyActionResult(code: DNSActionCode | number, dq: DNSQuestion, result: QueryRulesResult): boolean {
  switch (code) {
    case DNSAction.Allow:
    case DNSAction.Drop:
    case DNSAction.HeaderModify:
    case DNSAction.Pool:
    case DNSAction.Spoof:
    case DNSAction.SpoofRaw:
    case DNSAction.SpoofPacket:
      return true;
    case DNSAction.Nxdomain:
      setRcode(dq, Rcode.NXDomain);
      return true;
    case DNSAction.Refused:
      setRcode(dq, Rcode.Refused);
      return true;
    case DNSAction.ServFail:
      setRcode(dq, Rcode.ServFail);
      return true;
    case DNSAction.Truncate:
      if (dq.transport === 'tcp') return false;
      makeTruncatedResponse(dq.packet, dq.length);
      result.truncated = true;
      return true;
    case DNSAction.NoRecurse:
      writeFlags(dq.packet, readFlags(dq.packet) & ~HeaderFlag.RD);
      return true;
    default:
      // Delay, None, NoOp, SetTag and anything unknown: on to the next rule.
      return false;
  }
}

/**
 * dnsdist puts the client's RD and CD bits back into an answer made from
 * the query (fixUpQueryTurnedResponse), undoing NoRecurseAction and
 * DisableValidationAction, which were meant for the backend.
 */
function restoreClientFlags(dq: DNSQuestion, receivedFlags: number): void {
  const keep = HeaderFlag.RD | HeaderFlag.CD;
  writeFlags(dq.packet, (readFlags(dq.packet) & ~keep) | (receivedFlags & keep));
}

/**
 * Walk `rules` for `dq`: count a hit on every matching rule, run its action,
 * stop where dnsdist would. Fills and returns `result` (a fresh one when
 * none is given; pass one in to allocate nothing per query).
 */
export function applyQueryRules(
  rules: readonly QueryRule[],
  dq: DNSQuestion,
  result: QueryRulesResult = new QueryRulesResult(),
): QueryRulesResult {
  result.reset();
  // The flags as received; a spoofing action may replace the packet (and re-parse the view) on the way.
  const receivedFlags = readFlags(dq.packet);
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (!rule.selector.matches(dq)) continue;
    rule.hits++;
    const code = rule.action.apply(dq);
    if (applyActionResult(code, dq, result)) {
      result.action = code;
      result.ruleIndex = i;
      break;
    }
  }
  if (result.action === DNSAction.Drop) {
    result.verdict = QueryVerdict.Drop;
  } else if ((readFlags(dq.packet) & HeaderFlag.QR) !== 0) {
    restoreClientFlags(dq, receivedFlags);
    fixUpQueryTurnedResponseOpt(dq);
    result.verdict = QueryVerdict.Respond;
    result.rcode = readFlags(dq.packet) & RCODE_MASK;
  }
  return result;
}
