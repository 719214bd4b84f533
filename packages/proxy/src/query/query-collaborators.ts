import type { DNSQuestion } from './dns-question.js';
import type { DNSResponse } from './dns-response.js';
import type { QueryVerdictCode } from './query-verdict.js';

/**
 * The parts the query path calls into, as interfaces so the path does not
 * depend on how rules, rings, caches and dynamic blocks are built.
 */

/** Rule chains: query rules, and the three response chains dnsdist has. */
export interface RulesEngine {
  /** Walk the query rules (counters updated inside). */
  processQuery(dq: DNSQuestion): QueryVerdictCode;
  /** Walk a response chain; false means drop the answer. */
  processResponse(dr: DNSResponse, chain: 'response' | 'cacheHit' | 'selfAnswered'): boolean;
}

/** Query/response rings. */
export interface QueryRecorder {
  recordQuery(dq: DNSQuestion): void;
  recordResponse(dr: DNSResponse): void;
}

/** A pool's packet cache, in dnsdist's two steps: key on the query, insert on the answer. */
export interface QueryCache {
  computeKey(dq: DNSQuestion): number;
  /** A copy of the cached answer with the query's ID, or undefined. */
  lookup(dq: DNSQuestion, key: number, allowStale?: boolean): Buffer | undefined;
  insert(dq: DNSQuestion, key: number, response: Uint8Array, length: number): boolean;
}

/** The dynamic-block check run before the rules. */
export interface DynBlockCheck {
  check(dq: DNSQuestion): QueryVerdictCode;
}
