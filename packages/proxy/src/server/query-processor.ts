import {
  DNS_HEADER_SIZE,
  DnsQueryView,
  HeaderFlag,
  makeRcodeResponse,
  Rcode,
  removeOptRecord,
  replaceSelfGeneratedOpt,
  stripTruncatedAnswer,
  type NetmaskGroup,
} from '@dnsdist-ts/dns';
import type { DownstreamServer } from '../backend/downstream-server.js';
import type { ReplyChannel } from '../backend/inflight-query.js';
import type { ServerPolicy } from '../backend/policies/server-policy.js';
import type { ServerPool } from '../backend/server-pool.js';
import type { SocketAddress } from '../query/client-address.js';
import { coarseNow } from '../query/coarse-clock.js';
import type { DNSQuestion, Transport } from '../query/dns-question.js';
import { DNSResponse } from '../query/dns-response.js';
import type { DynBlockCheck, QueryCache, QueryRecorder, RulesEngine } from '../query/query-collaborators.js';
import { QueryVerdict, type QueryVerdictCode } from '../query/query-verdict.js';
import { QueryContextPool } from '../query/query-context-pool.js';
import type { SelfGeneratedEdnsSettings } from '../query/self-generated-edns.js';
import type { ProxyCounters } from '../stats/proxy-counters.js';

/** What the query path reads of the proxy's configuration and state. */
export interface QueryPathContext extends SelfGeneratedEdnsSettings {
  readonly counters: ProxyCounters;
  readonly acl: NetmaskGroup;
  readonly rules: RulesEngine;
  readonly recorder: QueryRecorder;
  dynBlocks: DynBlockCheck | undefined;
  getPool(name: string): ServerPool<QueryCache & { toString(): string }> | undefined;
  readonly defaultPolicy: ServerPolicy;
  /** setServFailWhenNoServer: answer SERVFAIL instead of dropping when no backend is up. */
  servFailWhenNoServer: boolean;
  /** setDropEmptyQueries. */
  dropEmptyQueries: boolean;
  /** setStaleCacheEntriesTTL. */
  readonly staleCacheEntriesTTL: number;
  /** setAllowEmptyResponse. */
  readonly allowEmptyResponse: boolean;
  /** truncateTC. */
  readonly truncateTC: boolean;
}

/** Per-frontend counters (showBinds, frontend metrics). */
export interface FrontendCounters {
  queries: number;
  responses: number;
  nonCompliantQueries: number;
}

/**
 * The path every query takes, whatever transport brought it: ACL, header
 * checks, ring, dynamic blocks, rules, cache, policy, backend; and the way
 * back: response rules, cache insert, latency and RCODE accounting.
 * Mirrors dnsdist 1.7.3's processQuery/processResponse ordering.
 */
export class QueryProcessor {
  readonly #ctx: QueryPathContext;
  readonly #pool = new QueryContextPool();
  /** Reads a TC=1 backend answer for truncateTC (rare: not the query's view). */
  readonly #answerView = new DnsQueryView();
  /** One response object serves every synchronous answer; a delayed answer keeps its own copy. */
  readonly #dr = new DNSResponse(Buffer.alloc(0), 0, undefined as unknown as DNSQuestion, undefined, 0);

  constructor(ctx: QueryPathContext) {
    this.#ctx = ctx;
  }

  /**
   * A query shorter than a DNS header: counted in noncompliant-queries
   * only, not in queries (dnsdist 1.7.3 over UDP, where this check comes
   * before the ACL too; later dnsdist over TCP, where 1.7.3 counts nothing).
   */
  countTooShort(frontend: FrontendCounters): void {
    this.#ctx.counters.nonCompliantQueries++;
    frontend.nonCompliantQueries++;
  }

  /** ACL check on raw address bytes; counts acl-drops. */
  aclAllows(address: Uint8Array): boolean {
    if (this.#ctx.acl.match(address)) return true;
    this.#ctx.counters.aclDrops++;
    return false;
  }

  /**
   * Handle one query that passed the ACL. `data[0..length)` is only read
   * during the call (it may be a receive buffer reused for the next
   * datagram): the query is copied into a pooled question.
   */
  handleQuery(
    data: Uint8Array,
    length: number,
    remote: SocketAddress,
    local: SocketAddress,
    transport: Transport,
    reply: ReplyChannel,
    frontend: FrontendCounters,
  ): void {
    const ctx = this.#ctx;
    const c = ctx.counters;
    const dq = this.#pool.acquire(data, length, remote, local, transport, coarseNow());
    dq.selfGeneratedEdns = ctx;
    // The accounting of malformed queries follows dnsdist 1.7.3's, checked side by side in
    // test/e2e/malformed-counters-parity.test.ts.
    if (length < DNS_HEADER_SIZE) {
      this.countTooShort(frontend);
      return this.#drop(dq, reply);
    }
    c.queries++;
    frontend.queries++;
    const view = dq.view;
    const parsed = view.parse(dq.packet, length);
    if (view.qr) {
      c.nonCompliantQueries++;
      frontend.nonCompliantQueries++;
      return this.#drop(dq, reply);
    }
    dq.origFlags = (dq.packet[2]! << 8) | dq.packet[3]!;
    if (view.qdcount === 0) {
      c.emptyQueries++;
      if (ctx.dropEmptyQueries) return this.#drop(dq, reply);
      if (view.rd) c.rdQueries++;
      return this.#sendNotImp(dq, reply);
    }
    if (view.rd) c.rdQueries++;
    // A question dnsdist cannot parse ends in its exception handler: dropped, and counted
    // nowhere beyond queries and rdqueries (not in noncompliant-queries).
    if (!parsed) return this.#drop(dq, reply);
    ctx.recorder.recordQuery(dq);

    let verdict: QueryVerdictCode = ctx.dynBlocks ? ctx.dynBlocks.check(dq) : QueryVerdict.Forward;
    if (verdict === QueryVerdict.Forward) verdict = ctx.rules.processQuery(dq);
    if (verdict === QueryVerdict.Drop) return this.#drop(dq, reply);
    if (verdict === QueryVerdict.Respond || (dq.packet[2]! & 0x80) !== 0) return this.#sendSelfAnswered(dq, reply);

    const pool = ctx.getPool(dq.pool);
    let cacheKey = 0;
    const cache = pool?.cache;
    if (cache && !dq.skipCache) {
      cacheKey = cache.computeKey(dq);
      const stale = ctx.staleCacheEntriesTTL > 0 && pool.countUp() === 0 ? ctx.staleCacheEntriesTTL : 0;
      const hit = cache.lookup(dq, cacheKey, stale);
      if (hit) {
        c.cacheHits++;
        restoreClientFlags(hit, dq.origFlags);
        const dr = this.#dr.reset(hit, hit.length, dq, undefined, 0);
        if (!ctx.rules.processResponse(dr, 'cacheHit')) return this.#drop(dq, reply);
        return this.#sendToClient(dr, reply, false);
      }
      c.cacheMisses++;
    }

    const servers = pool?.servers ?? [];
    const policy = pool?.policy ?? ctx.defaultPolicy;
    const server = servers.length > 0 ? policy.select(servers, dq) : undefined;
    if (!server) {
      c.noPolicy++;
      if (ctx.servFailWhenNoServer) {
        // As dnsdist: the query's header bits stay (RA, AD, AA are not touched), QR and RCODE are set,
        // and an EDNS query gets a fresh OPT record with the self-generated payload size.
        makeRcodeResponse(dq.packet, dq.length, Rcode.ServFail, { aa: view.aa, ad: view.ad, ra: view.ra });
        restoreClientFlags(dq.packet, dq.origFlags);
        dq.length = replaceSelfGeneratedOpt(
          dq.packet,
          dq.length,
          view,
          ctx.addEDNSToSelfGeneratedResponses,
          ctx.payloadSizeOnSelfGeneratedAnswers,
        );
        return this.#sendSelfAnswered(dq, reply);
      }
      return this.#drop(dq, reply);
    }
    this.#forward(server, dq, reply, cacheKey);
  }

  #forward(server: DownstreamServer, dq: DNSQuestion, reply: ReplyChannel, cacheKey: number): void {
    if (dq.transport === 'tcp' || server.config.tcpOnly) server.sendTcp(dq, reply, cacheKey);
    else server.sendUdp(dq, reply, cacheKey);
  }

  /**
   * A backend answered (UDP or TCP): check it answers our question, run the
   * response rules, fill the cache, send it to the client.
   */
  handleBackendAnswer(
    server: DownstreamServer,
    dq: DNSQuestion,
    reply: ReplyChannel,
    cacheKey: number,
    latencyUsec: number,
    data: Buffer,
    length: number,
  ): void {
    const ctx = this.#ctx;
    const c = ctx.counters;
    // The backend already checked that this answers dq's question (answerMatchesQuestion).
    c.responses++;
    restoreClientFlags(data, dq.origFlags);
    if ((data[2]! & TC_BYTE) !== 0 && ctx.truncateTC && dq.transport === 'udp') {
      // As dnsdist's truncateTC(true), before the response rules and the cache see the answer.
      this.#answerView.parse(data, length);
      length = stripTruncatedAnswer(data, length, this.#answerView, ctx.addEDNSToSelfGeneratedResponses);
    }
    const rcode = data[3]! & 0x0f;
    if (rcode === Rcode.ServFail) c.servfailResponses++;
    const dr = this.#dr.reset(data, length, dq, server, latencyUsec);
    if (!ctx.rules.processResponse(dr, 'response')) return this.#drop(dq, reply);
    // dnsdist's fixUpResponse: the OPT record SetEDNSOptionAction gave the query is not the client's to see.
    if (dq.ednsAdded) dr.length = removeOptRecord(dr.packet, dr.length);
    const cache = ctx.getPool(dq.pool)?.cache;
    if (cache && !dq.skipCache) {
      cache.insert(dq, cacheKey, dr.packet, dr.length, dq.tempFailureTTL === undefined ? undefined : { tempFailureTTL: dq.tempFailureTTL });
    }
    ctx.recorder.recordResponse(dr, coarseNow());
    this.#sendToClient(dr, reply, true);
  }

  /**
   * A forwarded query that will get no answer (timeout, slot reuse, dead
   * backend connection): tell its transport, release its view.
   */
  queryLost(dq: DNSQuestion, reply: ReplyChannel): void {
    this.#drop(dq, reply);
  }

  /**
   * A query without a question: answered NOTIMP at once, QR set and the
   * rest of the header as it came, as dnsdist does before any rule runs (so
   * no self-answered count, no response rules, no rcode counters).
   */
  #sendNotImp(dq: DNSQuestion, reply: ReplyChannel): void {
    const p = dq.packet;
    p[2] = p[2]! | 0x80;
    p[3] = (p[3]! & 0xf0) | Rcode.NotImp;
    reply.sendAnswer(dq, p, dq.length);
    this.#finish(dq);
  }

  #sendSelfAnswered(dq: DNSQuestion, reply: ReplyChannel): void {
    this.#ctx.counters.selfAnswered++;
    const dr = this.#dr.reset(dq.packet, dq.length, dq, undefined, 0);
    if (!this.#ctx.rules.processResponse(dr, 'selfAnswered')) return this.#drop(dq, reply);
    this.#sendToClient(dr, reply, false);
  }

  #sendToClient(dr: DNSResponse, reply: ReplyChannel, fromBackend: boolean): void {
    const dq = dr.question;
    const c = this.#ctx.counters;
    c.recordFrontendRcode(dr.packet[3]! & 0x0f);
    if (fromBackend) c.recordLatency((coarseNow() - dq.receivedAt) * 1000);
    const delay = dq.transport === 'udp' ? Math.max(dq.delayMs, dr.delayMs) : 0;
    if (delay > 0) {
      // The answer may sit in a lent receive buffer or the shared response object: keep a copy.
      const answer = Buffer.from(dr.packet.subarray(0, dr.length));
      setTimeout(() => {
        reply.sendAnswer(dq, answer, answer.length);
        this.#finish(dq);
      }, delay);
      return;
    }
    reply.sendAnswer(dq, dr.packet, dr.length);
    this.#finish(dq);
  }

  /** No answer will be sent: the transport learns it (a TCP client connection is closed, as dnsdist does). */
  #drop(dq: DNSQuestion, reply: ReplyChannel): void {
    reply.abandon?.(dq);
    this.#finish(dq);
  }

  #finish(dq: DNSQuestion): void {
    this.#pool.release(dq);
  }
}

/** The flags dnsdist hands back as the client set them (NoRecurseAction and DisableValidationAction were for the backend). */
const CLIENT_FLAGS = HeaderFlag.RD | HeaderFlag.CD;

/** Put the client's RD and CD bits into an answer from a backend or the cache (dnsdist's restoreFlags). */
function restoreClientFlags(packet: Uint8Array, origFlags: number): void {
  const flags = (packet[2]! << 8) | packet[3]!;
  const restored = (flags & ~CLIENT_FLAGS) | (origFlags & CLIENT_FLAGS);
  packet[2] = restored >> 8;
  packet[3] = restored & 0xff;
}

/** TC in the first flags byte. */
const TC_BYTE = HeaderFlag.TC >> 8;
