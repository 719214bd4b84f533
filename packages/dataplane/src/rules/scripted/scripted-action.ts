import { DNSAction, type DNSActionCode } from '../../query/dns-action.js';
import type { DNSQuestion } from '../../query/dns-question.js';
import { SpoofAction } from '../actions/spoof-action.js';
import { SpoofCNAMEAction } from '../actions/spoof-cname-action.js';
import { SpoofRawAction } from '../actions/spoof-raw-action.js';
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

const EMPTY = new Uint8Array(0);
/** A comma, which separates the records of a DNSAction.SpoofRaw string. */
const COMMA = 0x2c;

/**
 * dnsdist's answer to a Lua action returning DNSAction.SpoofRaw with a
 * string: the string is cut at each comma and every non-empty piece is the
 * RDATA of one record of the query's type, as SpoofRawAction makes them.
 * With no piece (an empty string) nothing is spoofed and, as in dnsdist, the
 * query goes on to a backend with the rules stopped.
 *
 * @throws RuleArgumentError for a piece over 65535 bytes.
 */
export function spoofRawFromBytes(dq: DNSQuestion, bytes: Uint8Array): void {
  const records: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== COMMA) continue;
    if (i > start) records.push(bytes.subarray(start, i));
    start = i + 1;
  }
  if (records.length > 0) new SpoofRawAction(records).apply(dq);
}

/**
 * dnsdist's LuaAction(function): the function gets the question and returns
 * an action code and an optional string, whose meaning depends on the code
 * (Spoof: addresses or a CNAME target; SpoofRaw: record data, comma-separated;
 * Pool: the pool; Delay: milliseconds).
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
        try {
          spoofRawFromBytes(dq, r.bytes ?? EMPTY);
        } catch (err) {
          this.#log(`${this.#name}: cannot spoof with these record data: ${(err as Error).message}`);
        }
        return code;
      case DNSAction.SpoofPacket:
        this.#log(
          `${this.#name} returned DNSAction.SpoofPacket, which dnsdist-ts does not support yet; returning ServFail (use DNSAction.SpoofRaw, DNSAction.Spoof or dq:spoof())`,
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
