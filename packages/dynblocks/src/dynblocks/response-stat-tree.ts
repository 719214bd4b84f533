/**
 * The StatNode tree of the response ring: what a rules group's suffix-match
 * rule and the console's statNodeRespRing walk (dnsdist builds the same
 * tree for both).
 */
import type { ResponseEntry } from '@dnsdist-ts/dataplane/rings/index.js';
import { splitPresentationLabels, StatNode } from './stat-node.js';

/** The rings' walk over their response entries. */
export interface ResponseEntries {
  forEachResponse(visit: (entry: ResponseEntry) => void): void;
}

/**
 * Count every response entry received at `cutOff` or later and not after
 * `now` (ms on the rings' clock; `-Infinity` for no cut-off) in a fresh
 * tree, one node per label. An entry the backend never answered counts as
 * a drop; an answer with no server as a cache hit.
 */
export function responseStatTree(rings: ResponseEntries, now: number, cutOff: number): StatNode {
  const root = new StatNode();
  const labels = new Map<string, string[]>();
  rings.forEachResponse((e) => {
    const t = e.time;
    if (t > now || t < cutOff) return;
    const qname = e.qname;
    let split = labels.get(qname);
    if (!split) {
      split = splitPresentationLabels(qname);
      labels.set(qname, split);
    }
    const timedOut = e.timedOut;
    root.submit(split, timedOut ? -1 : e.rcode, e.size, !timedOut && e.server === null);
  });
  return root;
}
