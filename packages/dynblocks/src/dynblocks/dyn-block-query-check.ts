import { HeaderFlag, makeTruncatedResponse, RCODE_MASK, Rcode, readFlags, writeFlags } from '@dnsdist-ts/dns';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import type { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import type { DynBlockCheck } from '@dnsdist-ts/dataplane/query/query-collaborators.js';
import { QueryVerdict, type QueryVerdictCode } from '@dnsdist-ts/dataplane/query/query-verdict.js';
import { fixUpQueryTurnedResponseOpt } from '@dnsdist-ts/dataplane/query/self-generated-edns.js';
import type { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import type { ProxyCounters } from '@dnsdist-ts/dataplane/stats/proxy-counters.js';
import type { DynBlock } from './dyn-block.js';
import type { DynamicBlocks } from './dynamic-blocks.js';

/** Not a verdict: the block did not end processing, look further (suffix table, then the rules). */
const GO_ON = -1;

/** Something that wants to see every query the blocks let through (fast detection). */
export interface PassedQueryObserver {
  observe(dq: DNSQuestion): void;
}

/**
 * The per-query dynamic-block check, run before the rules (dnsdist
 * 1.7.3's processQuery): the client address (with its source port) in the
 * address table, then the query name in the suffix table. An active
 * block's effective action decides:
 *
 * - NoOp: nothing (a warning block, or a NoOp rule).
 * - Nxdomain, Refused: the query becomes the answer (QR and RCODE set).
 * - Truncate: over UDP a TC=1 answer; over TCP nothing, processing goes on.
 *   Those answers get the self-generated OPT record, as the rules' do.
 * - NoRecurse: RD cleared, the query goes on.
 * - SetTag: the block's tag is set, processing goes on.
 * - Allow (with allowPass): nothing here; the kernel passes.
 * - anything else: dropped.
 *
 * Every block that acts (not NoOp, not a TCP query under Truncate)
 * counts one in `dyn-blocked` and in the block's `blocks`.
 *
 * Cheap when there are no blocks (two size checks); a lookup allocates
 * nothing.
 */
export class DynBlockQueryCheck implements DynBlockCheck {
  readonly #blocks: DynamicBlocks;
  readonly #counters: ProxyCounters;
  readonly #log: Logger;
  /** Sees every query that passed (setDynBlocksFastDetection); undefined costs one test per query. */
  observer: PassedQueryObserver | undefined = undefined;

  constructor(blocks: DynamicBlocks, counters: ProxyCounters, log: Logger) {
    this.#blocks = blocks;
    this.#counters = counters;
    this.#log = log;
  }

  check(dq: DNSQuestion): QueryVerdictCode {
    const blocks = this.#blocks;
    if (blocks.clients.size !== 0) {
      const remote = dq.remote;
      const block = blocks.clients.lookup(remote.bytes, remote.port);
      if (block !== undefined && dq.receivedAt < block.until) {
        const verdict = this.#act(block, dq, false);
        if (verdict !== GO_ON) return verdict as QueryVerdictCode;
      }
    }
    if (blocks.suffixes.size !== 0) {
      const view = dq.view;
      const block = blocks.suffixes.lookupWire(view.qnameLower, view.qnameWireLength);
      if (block !== undefined && dq.receivedAt < block.until) {
        const verdict = this.#act(block, dq, true);
        if (verdict !== GO_ON) return verdict as QueryVerdictCode;
      }
    }
    if (this.observer !== undefined) this.observer.observe(dq);
    return QueryVerdict.Forward;
  }

  #act(block: DynBlock, dq: DNSQuestion, bySuffix: boolean): number {
    const blocks = this.#blocks;
    if (block.kernel !== undefined && blocks.kernel.options.skipUserspace) return GO_ON;
    const action = block.action === DNSAction.None ? blocks.defaultAction : block.action;
    switch (action) {
      case DNSAction.NoOp:
        return GO_ON;
      case DNSAction.Nxdomain:
        this.#count(block);
        this.#verbose(dq, bySuffix, 'turned into NXDomain');
        setRcode(dq, Rcode.NXDomain);
        fixUpQueryTurnedResponseOpt(dq);
        return QueryVerdict.Respond;
      case DNSAction.Refused:
        this.#count(block);
        this.#verbose(dq, bySuffix, 'refused');
        setRcode(dq, Rcode.Refused);
        fixUpQueryTurnedResponseOpt(dq);
        return QueryVerdict.Respond;
      case DNSAction.Truncate:
        if (dq.transport === 'tcp') {
          if (this.#log.verbose)
            this.#log.debug(
              `Query from ${dq.remote.toStringWithPort()} for ${dq.view.qname} over TCP *not* truncated because of dynamic block`,
            );
          return GO_ON;
        }
        this.#count(block);
        this.#verbose(dq, bySuffix, 'truncated');
        makeTruncatedResponse(dq.packet, dq.length);
        fixUpQueryTurnedResponseOpt(dq);
        return QueryVerdict.Respond;
      case DNSAction.NoRecurse:
        this.#count(block);
        this.#verbose(dq, bySuffix, 'setting rd=0');
        writeFlags(dq.packet, readFlags(dq.packet) & ~HeaderFlag.RD);
        // dnsdist 1.7.3 sends such a query on without running the rules.
        return QueryVerdict.ForwardSkippingRules;
      case DNSAction.SetTag:
        this.#count(block);
        if (block.tag) dq.setTag(block.tag.name, block.tag.value);
        return GO_ON;
      case DNSAction.Allow:
        if (blocks.kernel.options.allowPass) return GO_ON;
        break;
    }
    this.#count(block);
    this.#verbose(dq, bySuffix, 'dropped');
    return QueryVerdict.Drop;
  }

  #count(block: DynBlock): void {
    this.#counters.dynBlocked++;
    block.blocks++;
  }

  #verbose(dq: DNSQuestion, bySuffix: boolean, what: string): void {
    if (!this.#log.verbose) return;
    const who = dq.remote.toStringWithPort();
    this.#log.debug(
      bySuffix
        ? `Query from ${who} for ${dq.view.qname} ${what} because of dynamic block`
        : `Query from ${who} ${what} because of dynamic block`,
    );
  }
}

/** QR and an RCODE, other bits kept: what dnsdist does to turn a blocked query into its answer. */
function setRcode(dq: DNSQuestion, rcode: number): void {
  writeFlags(dq.packet, (readFlags(dq.packet) & ~RCODE_MASK) | HeaderFlag.QR | rcode);
}
