/**
 * Which backends and rule entries a thread's counters are laid out for: the
 * configuration's (read live, live-counters.ts), taken before a restarted
 * worker replays the console's changes so that its region lines up with
 * the control plane's, and those added at the console since
 * (run-time-counters.ts). Every thread lists them in the same order.
 */
import type { RuleChains } from '@dnsdist-ts/dataplane/rules/index.js';
import type { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';

/** Backends and rule entries (by chain). */
export interface LayoutObjects {
  servers: readonly object[];
  rules: ReadonlyArray<readonly object[]>;
}

/** The backends and rule entries of `proxy` now: the query, response, cache-hit and self-answered chains, in that order. */
export function layoutObjectsOf(proxy: DnsdistProxy): LayoutObjects {
  const rules = proxy.rules as Partial<RuleChains>;
  return {
    servers: [...proxy.servers],
    rules: [rules.query, rules.response, rules.cacheHit, rules.selfAnswered].map((chain) => chain?.rules ?? []),
  };
}
