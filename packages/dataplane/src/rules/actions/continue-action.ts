import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import { applyActionResult, QueryRulesResult } from '../query-rules-evaluator.js';
import type { QueryAction } from '../rule-types.js';

/**
 * dnsdist's ContinueAction(action): run `action` and apply what its result
 * asks for (a pool, an RCODE, …), as the rules would, but go on to the
 * next rule whatever it returned. A Drop result is ignored, as in dnsdist.
 */
export class ContinueAction implements QueryAction {
  readonly action: QueryAction;
  /** Scratch for applyActionResult; what it records is not used. */
  readonly #scratch = new QueryRulesResult();

  constructor(action: QueryAction) {
    this.action = action;
  }

  apply(dq: DNSQuestion): DNSActionCode {
    applyActionResult(this.action.apply(dq), dq, this.#scratch);
    return DNSAction.None;
  }

  toString(): string {
    return `continue after: ${this.action.toString()}`;
  }
}
