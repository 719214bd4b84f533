import type { DNSQuestion } from '../../query/dns-question.js';
import type { DownstreamServer } from '../downstream-server.js';
import type { ServerPolicy } from './server-policy.js';

/** A user function choosing a backend (a Lua function once the Lua layer wraps it); throws on a script error. */
export interface PolicyScript {
  /** Every server of the pool, in pool order (down ones included, as dnsdist passes them); returns the choice or undefined. */
  choose(servers: readonly DownstreamServer[], dq: DNSQuestion): DownstreamServer | undefined;
}

/**
 * dnsdist's newServerPolicy(name, function(servers, dq)): the function
 * picks the server. A failing function is logged and the query gets no
 * server (dropped, or SERVFAIL with setServFailWhenNoServer), as when a
 * built-in policy finds nothing up.
 */
export class ScriptedPolicy implements ServerPolicy {
  readonly name: string;
  readonly #script: PolicyScript;
  readonly #log: (line: string) => void;

  constructor(name: string, script: PolicyScript, log: (line: string) => void) {
    this.name = name;
    this.#script = script;
    this.#log = log;
  }

  select(servers: readonly DownstreamServer[], dq: DNSQuestion): DownstreamServer | undefined {
    try {
      return this.#script.choose(servers, dq);
    } catch (err) {
      this.#log(`Lua server policy '${this.name}' failed: ${(err as Error).message ?? String(err)}`);
      return undefined;
    }
  }
}
