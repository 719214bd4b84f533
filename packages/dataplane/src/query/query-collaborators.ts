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
  /** @param now when the answer was handled (performance.now() clock). */
  recordResponse(dr: DNSResponse, now: number): void;
}

/** A pool's packet cache, in dnsdist's two steps: key on the query, insert on the answer. */
export interface QueryCache {
  computeKey(dq: DNSQuestion): number;
  /**
   * A copy of the cached answer with the query's ID, or undefined.
   * `allowExpired` (seconds) serves entries expired at most that long ago.
   */
  lookup(dq: DNSQuestion, key: number, allowExpired?: number): Buffer | undefined;
  insert(
    dq: DNSQuestion,
    key: number,
    response: Uint8Array,
    length: number,
    options?: { tempFailureTTL?: number; withoutSubnet?: boolean },
  ): boolean;
  /** newPacketCache{parseECS=true}: entries remember the query's ECS subnet (needed for the zero-scope feature). */
  readonly parseECS?: boolean;
  /** Does the query carry an ECS option the cache would compare? */
  hasClientSubnet?(dq: DNSQuestion): boolean;
  /** Maintenance: remove expired entries, keeping at most `upTo` of them. */
  purgeExpired?(upTo: number): number;
  readonly keepStaleData?: boolean;
  readonly maxEntries?: number;
}

/** The dynamic-block check run before the rules. */
export interface DynBlockCheck {
  check(dq: DNSQuestion): QueryVerdictCode;
}
