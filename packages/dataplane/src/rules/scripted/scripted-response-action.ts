import { DNSResponseAction, type DNSResponseActionCode } from '../../query/dns-action.js';
import type { DNSResponse } from '../../query/dns-response.js';
import type { ResponseAction } from '../rule-types.js';
import type { ResponseScript } from './script-function.js';
import { ScriptResult, type ScriptFailureLog } from './script-result.js';

/**
 * dnsdist's LuaResponseAction(function): the function gets the response and
 * returns a DNSResponseAction code and an optional string (Delay:
 * milliseconds). A failing function is logged and the response becomes a
 * SERVFAIL, as in dnsdist 1.7.
 */
export class ScriptedResponseAction implements ResponseAction {
  readonly #script: ResponseScript;
  readonly #log: ScriptFailureLog;
  readonly #name: string;
  readonly #result = new ScriptResult();

  /** @param name the Lua function that made it, for the log lines (dnsdist's texts: "LuaResponseAction failed inside Lua…", "LuaFFI…"). */
  constructor(script: ResponseScript, log: ScriptFailureLog, name = 'LuaResponseAction') {
    this.#name = name;
    this.#script = script;
    this.#log = log;
  }

  applyResponse(dr: DNSResponse): DNSResponseActionCode {
    const r = this.#result.reset();
    try {
      this.#script.callResponse(dr, r);
    } catch (err) {
      this.#log(`${this.#name} failed inside Lua, returning ServFail: ${(err as Error).message ?? String(err)}`);
      return DNSResponseAction.ServFail;
    }
    const code = r.code as DNSResponseActionCode;
    if (code === DNSResponseAction.Delay) {
      const ms = r.delayMs();
      if (ms !== undefined) dr.delayMs = ms;
      else this.#log(`${this.#name} returned DNSResponseAction.Delay with '${r.text ?? ''}', not a number of milliseconds; no delay`);
    }
    return code;
  }

  toString(): string {
    return 'Lua response script';
  }
}
