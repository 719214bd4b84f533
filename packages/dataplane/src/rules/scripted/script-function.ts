import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSResponse } from '../../query/dns-response.js';
import type { ScriptResult } from './script-result.js';

/**
 * A user function the rules call (a Lua function once the Lua layer wraps
 * it). Each call throws on a script error; the scripted rule objects catch,
 * log and fall back as dnsdist does.
 */
export interface QueryScript {
  /** Call with a question; fill `out` with the action code and optional string. */
  callQuery(dq: DNSQuestion, out: ScriptResult): void;
}

export interface ResponseScript {
  /** Call with a response; fill `out` with the response action code and optional string. */
  callResponse(dr: DNSResponse, out: ScriptResult): void;
}

export interface MatchScript {
  /** A selector function: truthy means "matches". `dr` is given on response chains. */
  matchQuery(dq: DNSQuestion): boolean;
  matchResponse(dr: DNSResponse): boolean;
}
