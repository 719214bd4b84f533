import type { DNSQuestion } from '../../query/dns-question.js';
import type { DNSResponse } from '../../query/dns-response.js';
import type { DNSRule } from '../rule-types.js';
import type { MatchScript } from './script-function.js';
import type { ScriptFailureLog } from './script-result.js';

/**
 * dnsdist's LuaRule(function): matches when the function returns true. A
 * failing function is logged and the rule does not match.
 */
export class ScriptedRule implements DNSRule {
  readonly #script: MatchScript;
  readonly #log: ScriptFailureLog;
  readonly #name: string;

  /** @param name the Lua function that made it, for the log lines (dnsdist's texts: "LuaRule failed inside Lua…", "LuaFFI…"). */
  constructor(script: MatchScript, log: ScriptFailureLog, name = 'LuaRule') {
    this.#name = name;
    this.#script = script;
    this.#log = log;
  }

  matches(dq: DNSQuestion): boolean {
    try {
      return this.#script.matchQuery(dq);
    } catch (err) {
      this.#log(`${this.#name} failed inside Lua: ${(err as Error).message ?? String(err)}`);
      return false;
    }
  }

  matchesResponse(dr: DNSResponse): boolean {
    try {
      return this.#script.matchResponse(dr);
    } catch (err) {
      this.#log(`${this.#name} failed inside Lua: ${(err as Error).message ?? String(err)}`);
      return false;
    }
  }

  toString(): string {
    return 'Lua script';
  }
}
