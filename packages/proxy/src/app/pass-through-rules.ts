import type { DNSQuestion } from '../query/dns-question.js';
import type { DNSResponse } from '../query/dns-response.js';
import type { QueryRecorder, RulesEngine } from '../query/query-collaborators.js';
import { QueryVerdict, type QueryVerdictCode } from '../query/query-verdict.js';

/** No rules configured: every query goes on, every answer goes back. */
export class PassThroughRules implements RulesEngine {
  processQuery(_dq: DNSQuestion): QueryVerdictCode {
    return QueryVerdict.Forward;
  }
  processResponse(_dr: DNSResponse): boolean {
    return true;
  }
}

/** Rings disabled: nothing recorded. */
export class NoRecorder implements QueryRecorder {
  recordQuery(_dq: DNSQuestion): void {}
  recordResponse(_dr: DNSResponse): void {}
}
