import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import { SpoofAction } from '../actions/spoof-action.js';
import { SpoofCNAMEAction } from '../actions/spoof-cname-action.js';
import type { QueryAction } from '../rule-types.js';
import type { QueryScript } from './script-function.js';
import { ScriptResult, type ScriptFailureLog } from './script-result.js';

/**
 * dnsdist's answer for `return DNSAction.Spoof, "<text>"`: one address, or a
 * name to answer with a CNAME, or several addresses separated by spaces or
 * commas (the ones that do not parse are skipped). Cold path: it builds a
 * spoofing action per call.
 */
export function spoofFromString(dq: DNSQuestion, text: string): void {
  const parts = text.split(/[ ,]+/).filter((p) => p !== '');
  if (parts.length === 1) {
    let action: QueryAction;
    try {
      action = new SpoofAction(parts[0]!);
    } catch {
      action = new SpoofCNAMEAction(parts[0]!);
    }
    action.apply(dq);
    return;
  }
  const addresses: string[] = [];
  for (const p of parts) {
    try {
      new SpoofAction(p);
      addresses.push(p);
    } catch {
      // dnsdist skips what does not parse as an address.
    }
  }
  if (addresses.length > 0) new SpoofAction(addresses).apply(dq);
}

/**
 * dnsdist's LuaAction(function): the function gets the question and returns
 * an action code and an optional string, whose meaning depends on the code
 * (Spoof: addresses or a CNAME target; Pool: the pool; Delay: milliseconds).
 * A failing function is logged and the query gets SERVFAIL, as dnsdist
 * 1.7 does ("LuaAction failed inside Lua, returning ServFail: …").
 */
export class ScriptedAction implements QueryAction {
  readonly #script: QueryScript;
  readonly #log: ScriptFailureLog;
  readonly #name: string;
  readonly #result = new ScriptResult();

  /** @param name the Lua function that made it, for the log lines (dnsdist's texts: "LuaAction failed inside Lua…", "LuaFFI…"). */
  constructor(script: QueryScript, log: ScriptFailureLog, name = 'LuaAction') {
    this.#name = name;
    this.#script = script;
    this.#log = log;
  }

  apply(dq: DNSQuestion): DNSActionCode {
    const r = this.#result.reset();
    try {
      this.#script.callQuery(dq, r);
    } catch (err) {
      this.#log(`${this.#name} failed inside Lua, returning ServFail: ${(err as Error).message ?? String(err)}`);
      return DNSAction.ServFail;
    }
    const code = r.code as DNSActionCode;
    switch (code) {
      case DNSAction.Spoof:
        try {
          spoofFromString(dq, r.text ?? '');
        } catch (err) {
          this.#log(`${this.#name}: cannot spoof with '${r.text ?? ''}': ${(err as Error).message}`);
        }
        return code;
      case DNSAction.SpoofRaw:
      case DNSAction.SpoofPacket:
        this.#log(
          `${this.#name} returned DNSAction.${code === DNSAction.SpoofRaw ? 'SpoofRaw' : 'SpoofPacket'}, which dnsdist-ts does not support yet; returning ServFail (use DNSAction.Spoof or dq:spoof())`,
        );
        return DNSAction.ServFail;
      case DNSAction.Pool:
        dq.pool = r.text ?? '';
        return code;
      case DNSAction.Delay: {
        const ms = r.delayMs();
        if (ms !== undefined) dq.delayMs = ms;
        else this.#log(`${this.#name} returned DNSAction.Delay with '${r.text ?? ''}', not a number of milliseconds; no delay`);
        return code;
      }
      default:
        return code;
    }
  }

  toString(): string {
    return 'Lua script';
  }
}
