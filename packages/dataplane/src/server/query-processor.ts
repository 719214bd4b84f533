import {
  CLIENT_SUBNET_QUERY_GROWTH,
  ClientSubnetEdit,
  DNS_HEADER_SIZE,
  DnsQueryView,
  HeaderFlag,
  makeRcodeResponse,
  MAX_CLIENT_SUBNET_OPTION_SIZE,
  Rcode,
  removeClientSubnetFromAnswer,
  removeOptRecord,
  replaceSelfGeneratedOpt,
  setClientSubnetInQuery,
  stripTruncatedAnswer,
  type NetmaskGroup,
} from '@dnsdist-ts/dns';
import type { DownstreamServer } from '../backend/downstream-server.js';
import { isXfrQType } from '../backend/xfr-progress.js';
import type { ReplyChannel } from '../backend/inflight-query.js';
import type { ServerPolicy } from '../backend/policies/server-policy.js';
import type { ServerPool } from '../backend/server-pool.js';
import type { SocketAddress } from '../query/client-address.js';
import { writeQueryClientSubnet } from '../query/client-subnet-option.js';
import { appendXpfRecord, xpfRecordSize } from '../query/xpf-record.js';
import type { ClientSession } from '../query/client-session.js';
import { coarseNow } from '../query/coarse-clock.js';
import type { DNSQuestion, Transport } from '../query/dns-question.js';
import type { HttpQueryInfo } from '../query/http-query-info.js';
import { DNSResponse } from '../query/dns-response.js';
import type { DynBlockCheck, QueryCache, QueryRecorder, RulesEngine } from '../query/query-collaborators.js';
import { QueryVerdict, type QueryVerdictCode } from '../query/query-verdict.js';
import { QueryContextPool } from '../query/query-context-pool.js';
import type { SelfGeneratedEdnsSettings } from '../query/self-generated-edns.js';
import type { ProxyCounters } from '../stats/proxy-counters.js';
import { ADDED_OPT_PAYLOAD_SIZE } from '../rules/actions/set-edns-option-action.js';
import type { IncomingProxyProtocol, ProxiedClient } from './incoming-proxy-protocol.js';

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
  /** setECSSourcePrefixV4 / setECSSourcePrefixV6. */
  readonly ecsSourcePrefixV4: number;
  readonly ecsSourcePrefixV6: number;
  /** setECSOverride. */
  readonly ecsOverride: boolean;
  /** setProxyProtocolACL and its settings. */
  readonly incomingProxyProtocol: IncomingProxyProtocol;
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
  /** Scratch space of the ECS rewrite: the option being added, and what the rewrite did. */
  readonly #ecsOption = new Uint8Array(MAX_CLIENT_SUBNET_OPTION_SIZE);
  readonly #ecsEdit = new ClientSubnetEdit();

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

  /**
   * A query that passed the ACL and is answered or dropped by its listener
   * before the query path (DNSCrypt's certificate query, a box that does not
   * open): dnsdist counts it in queries all the same.
   */
  countQueryHandledByListener(frontend: FrontendCounters): void {
    this.#ctx.counters.queries++;
    frontend.queries++;
  }

  /** ACL check on raw address bytes; counts acl-drops. */
  aclAllows(address: Uint8Array): boolean {
    if (this.#ctx.acl.match(address)) return true;
    this.#ctx.counters.aclDrops++;
    return false;
  }

  /** Must this sender put a proxy protocol header before its queries (setProxyProtocolACL)? */
  expectsProxyHeader(address: Uint8Array): boolean {
    return this.#ctx.incomingProxyProtocol.expectsFrom(address);
  }

  /**
   * Read a sender's proxy protocol header (a whole one over UDP; over TCP
   * `incomplete` asks for more bytes); a refused one is counted as dnsdist
   * counts it (proxy-protocol-invalid, or acl-drops for a named client
   * setACL refuses with setProxyProtocolApplyACLToProxiedClients).
   */
  readProxyHeader(
    data: Uint8Array,
    length: number,
    peer: SocketAddress,
    local: SocketAddress,
    tcp: boolean,
  ): ProxiedClient | 'incomplete' | undefined {
    const ctx = this.#ctx;
    const v = ctx.incomingProxyProtocol.read(data, length, peer, local, tcp, ctx.acl);
    if (v === 'incomplete') return v;
    if (v === 'invalid') {
      ctx.counters.proxyProtocolInvalid++;
      return undefined;
    }
    if (v === 'acl') {
      ctx.counters.aclDrops++;
      return undefined;
    }
    return v;
  }

  /** A datagram from a sender that must send a proxy protocol header: read it, then the query behind it. */
  handleProxiedDatagram(
    data: Uint8Array,
    length: number,
    peer: SocketAddress,
    local: SocketAddress,
    reply: ReplyChannel,
    frontend: FrontendCounters,
  ): void {
    const client = this.readProxyHeader(data, length, peer, local, false);
    if (client === undefined || client === 'incomplete') return;
    if (length - client.size < DNS_HEADER_SIZE) return this.countTooShort(frontend);
    this.handleQuery(
      data.subarray(client.size),
      length - client.size,
      client.remote,
      client.local,
      'udp',
      reply,
      frontend,
      undefined,
      undefined,
      false,
      client,
    );
  }

  /**
   * Handle one query that passed the ACL. `data[0..length)` is only read
   * during the call (it may be a receive buffer reused for the next
   * datagram): the query is copied into a pooled question. A DoH query
   * comes with its HTTP request, and says whether the DoH layer gave it the
   * OPT record (removed again from the backend's answer).
   */
  handleQuery(
    data: Uint8Array,
    length: number,
    remote: SocketAddress,
    local: SocketAddress,
    transport: Transport,
    reply: ReplyChannel,
    frontend: FrontendCounters,
    session?: ClientSession,
    http: HttpQueryInfo | undefined = undefined,
    ednsAdded = false,
    proxied?: ProxiedClient,
  ): void {
    const ctx = this.#ctx;
    const c = ctx.counters;
    const dq = this.#pool.acquire(data, length, remote, local, transport, coarseNow());
    dq.session = session;
    if (http !== undefined) {
      dq.http = http;
      dq.ednsAdded = ednsAdded;
    }
    if (proxied !== undefined) {
      dq.peer = proxied.peer;
      // The header's values go on to a useProxyProtocol backend, after what the rules make of them.
      if (proxied.values.length > 0) dq.proxyProtocolValues = proxied.values.slice();
    }
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
    // dnsdist gives every query the global ECS settings, which rules and scripts may then change.
    dq.ecsOverride = ctx.ecsOverride;
    dq.ecsPrefixLength = remote.family === 4 ? ctx.ecsSourcePrefixV4 : ctx.ecsSourcePrefixV6;
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
    const servers = pool?.servers ?? [];
    const policy = pool?.policy ?? ctx.defaultPolicy;
    // As dnsdist 1.7, the backend is chosen before the cache is asked: whether the query carries an ECS
    // option (and so which entry answers it) depends on the backend, and stale entries are served only
    // when there is none.
    const server = servers.length > 0 ? policy.select(servers, dq) : undefined;
    const cache = pool?.cache;
    const useCache = cache !== undefined && !dq.skipCache;
    const allowExpired = server ? 0 : ctx.staleCacheEntriesTTL;
    let cacheKey = 0;
    if (dq.useECS && (server ? server.config.useClientSubnet === true : pool?.ecs === true)) {
      if (useCache && cache.parseECS === true && server?.config.disableZeroScope !== true) {
        // The zero-scope feature: an answer a backend gave for every subnet is cached under the key of
        // the query without ECS, so look there first.
        dq.cacheKeyNoECS = cache.computeKey(dq);
        const hit = cache.lookup(dq, dq.cacheKeyNoECS, allowExpired);
        // dnsdist 1.7.3 hands this hit out with the flags stored in the entry, not the client's RD and CD
        // (test_Caching.py's TestCachingScopeZero expects exactly that).
        if (hit) return this.#sendCacheHit(dq, hit, reply, false);
        if (cache.hasClientSubnet?.(dq) !== true) dq.useZeroScope = true;
      }
      if (!this.#addClientSubnet(dq)) return this.#drop(dq, reply);
    }
    if (useCache) {
      cacheKey = cache.computeKey(dq);
      const hit = cache.lookup(dq, cacheKey, allowExpired);
      if (hit) return this.#sendCacheHit(dq, hit, reply);
      c.cacheMisses++;
    }

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
    // After the cache lookup, as dnsdist: the record names this client, so it must not be part of the key.
    if (server.config.addXPF !== undefined && dq.addXPF) this.#addXpf(server.config.addXPF, dq);
    this.#forward(server, dq, reply, cacheKey);
  }

  #sendCacheHit(dq: DNSQuestion, hit: Buffer, reply: ReplyChannel, restoreFlags = true): void {
    this.#ctx.counters.cacheHits++;
    if (restoreFlags) restoreClientFlags(hit, dq.origFlags);
    const dr = this.#dr.reset(hit, hit.length, dq, undefined, 0);
    if (!this.#ctx.rules.processResponse(dr, 'cacheHit')) return this.#drop(dq, reply);
    this.#sendToClient(dr, reply, false);
  }

  /**
   * Give the query its EDNS Client Subnet option (dnsdist's
   * handleEDNSClientSubnet): SetECSAction's subnet, else the client's
   * address cut to ecsPrefixLength; an existing option is replaced only
   * with ecsOverride. Grows the packet only when its buffer lacks the room.
   * False when the query cannot take the option (it is then dropped).
   */
  #addClientSubnet(dq: DNSQuestion): boolean {
    const size = writeQueryClientSubnet(dq, this.#ecsOption);
    if (dq.packet.length < dq.length + CLIENT_SUBNET_QUERY_GROWTH) {
      const grown = Buffer.allocUnsafe(dq.length + CLIENT_SUBNET_QUERY_GROWTH);
      dq.packet.copy(grown, 0, 0, dq.length);
      dq.packet = grown;
    }
    const edit = this.#ecsEdit;
    if (!setClientSubnetInQuery(dq.packet, dq.length, this.#ecsOption, size, dq.ecsOverride, ADDED_OPT_PAYLOAD_SIZE, edit)) return false;
    if (edit.length === dq.length && !edit.ecsAdded) return true;
    dq.length = edit.length;
    if (edit.ednsAdded) dq.ednsAdded = true;
    dq.ecsAdded = edit.ecsAdded;
    // Later readers (the cache, a SERVFAIL made from the query, response rules) see the query as sent.
    dq.view.parse(dq.packet, dq.length);
    return true;
  }

  /** newServer{addXPF=code}: the client's addresses and protocol as an XPF record; a query without room for it goes without. */
  #addXpf(code: number, dq: DNSQuestion): void {
    const need = dq.length + xpfRecordSize(dq.remote.family);
    if (dq.packet.length < need) {
      const grown = Buffer.allocUnsafe(need);
      dq.packet.copy(grown, 0, 0, dq.length);
      dq.packet = grown;
    }
    const length = appendXpfRecord(dq.packet, dq.length, code, dq.remote, dq.local, dq.transport !== 'udp');
    if (length < 0) return;
    dq.length = length;
    dq.view.parse(dq.packet, dq.length);
  }

  #forward(server: DownstreamServer, dq: DNSQuestion, reply: ReplyChannel, cacheKey: number): void {
    if (dq.transport === 'tcp' && isXfrQType(dq.view.qtype) && reply.beginTransfer !== undefined) {
      reply.beginTransfer(dq);
      server.sendTcp(dq, reply, cacheKey, true);
    } else if (dq.transport === 'tcp' || server.streamOnly) server.sendTcp(dq, reply, cacheKey);
    else server.sendUdp(dq, reply, cacheKey);
  }

  /**
   * One message of a zone transfer's answer. Passed on as the backend sent
   * it (its ID restored): dnsdist 1.7.3 runs no response rule and fills no
   * cache with XFR answers. The last message completes the query.
   */
  handleXfrMessage(dq: DNSQuestion, reply: ReplyChannel, data: Buffer, length: number, last: boolean): void {
    if (!last) {
      reply.sendTransferPart!(dq, data, length);
      return;
    }
    const c = this.#ctx.counters;
    c.responses++;
    c.recordFrontendRcode(data[3]! & 0x0f);
    reply.sendAnswer(dq, data, length);
    this.#finish(dq);
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
    if (dq.http !== undefined && (data[2]! & TC_BYTE) !== 0 && !dq.http.retriedOverTcp && !server.streamOnly) {
      // dnsdist 1.7 asks the same backend again over TCP when a DoH query's UDP answer is truncated:
      // an HTTP client cannot retry over TCP itself.
      dq.http.retriedOverTcp = true;
      server.sendTcp(dq, reply, cacheKey);
      return;
    }
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
    // dnsdist's fixUpResponse: what the query got on its way (an OPT record, an ECS option) is not the client's to see.
    let zeroScope = false;
    if (dq.ecsAdded) {
      const fixed = removeClientSubnetFromAnswer(dr.packet, dr.length, dq.ednsAdded, true, this.#ecsEdit);
      // An answer that cannot be walked to its OPT record is dropped, as dnsdist cannot parse it either.
      if (fixed < 0) return this.#drop(dq, reply);
      dr.length = fixed;
      zeroScope = dq.useZeroScope && this.#ecsEdit.zeroScope;
    } else if (dq.ednsAdded) dr.length = removeOptRecord(dr.packet, dr.length);
    const cache = ctx.getPool(dq.pool)?.cache;
    if (cache && !dq.skipCache) {
      const tempFailureTTL = dq.tempFailureTTL;
      const opts = tempFailureTTL === undefined ? undefined : { tempFailureTTL };
      if (zeroScope) cache.insert(dq, dq.cacheKeyNoECS, dr.packet, dr.length, { tempFailureTTL, withoutSubnet: true });
      else cache.insert(dq, cacheKey, dr.packet, dr.length, opts);
      if (dq.http?.retriedOverTcp) {
        // An answer fetched over TCP serves TCP clients too, as dnsdist 1.7.3 caches it (test_DOH's testTruncation).
        dq.transport = 'tcp';
        cache.insert(dq, cache.computeKey(dq), dr.packet, dr.length, opts);
        dq.transport = 'udp';
      }
    }
    ctx.recorder.recordResponse(dr, coarseNow());
    this.#sendToClient(dr, reply, true);
  }

  /**
   * A forwarded query that will get no answer (timeout, slot reuse, dead
   * backend connection): tell its transport, release its view.
   */
  queryLost(dq: DNSQuestion, reply: ReplyChannel): void {
    reply.abandon?.(dq, true);
    this.#finish(dq);
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
    const delay = dq.transport === 'udp' && dq.http === undefined ? Math.max(dq.delayMs, dr.delayMs) : 0;
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
