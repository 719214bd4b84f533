/**
 * The JSON documents of dnsdist 1.7.3's API, built from the proxy at
 * request time: `/api/v1/servers/localhost` and its `statistics`,
 * `config`, `config/allow-from` and `pool?name=` children, and
 * `/jsonstat?command=stats`. Field names and shapes are dnsdist's, as
 * observed on a running 1.7.3.
 */
import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import type { ServerPool } from '@dnsdist-ts/dataplane/backend/server-pool.js';
import type { PacketCacheStats } from '@dnsdist-ts/dataplane/cache/packet-cache-console-texts.js';
import type { DNSCryptBind } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-bind.js';
import { DNSDIST_JSON_ONLY_STATS, DNSDIST_STATS } from '../metrics/dnsdist-stat-definitions.js';
import type { DnsdistProxy, RunningFrontend, RunningTlsFrontend } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import type { TlsHandshakeFailure } from '@dnsdist-ts/dataplane/server/tls-frontend.js';
import type { StatEntry } from '@dnsdist-ts/dataplane/stats/stats-snapshot.js';
import type { JsonValue } from './json11-format.js';
import { dohFrontendEntriesJson, dohFrontendsJson } from './api-doh-json.js';

type JsonObject = { [key: string]: JsonValue };

/** A rule of any chain, as the API lists it. */
export interface ApiRule {
  readonly name: string;
  readonly uuid: string;
  readonly creationOrder: number;
  readonly hits: number;
  readonly selector: { toString(): string };
  readonly action: { toString(): string; getStats?: () => Record<string, number> };
}

export interface ApiRuleChains {
  readonly query: { readonly rules: readonly ApiRule[] };
  readonly response: { readonly rules: readonly ApiRule[] };
  readonly cacheHit: { readonly rules: readonly ApiRule[] };
  readonly selfAnswered: { readonly rules: readonly ApiRule[] };
}

/** What the API documents are built from. */
export interface ApiSources {
  readonly proxy: DnsdistProxy;
  readonly rules: ApiRuleChains;
  /** statsSnapshot() now. */
  readonly stats: () => StatEntry[];
  /** The console address ("127.0.0.1:5199" when none is configured). */
  readonly controlSocket: () => string;
  /** dnsdist-ts's version, the `version` field. */
  readonly version: string;
}

function cacheStatsOf(pool: ServerPool<object>): PacketCacheStats | undefined {
  const c = pool.cache as { getStats?: () => PacketCacheStats } | undefined;
  return c && typeof c.getStats === 'function' ? c.getStats() : undefined;
}

/** One backend (dnsdist's addServerToJSON in 1.7.3). */
export function serverJson(s: DownstreamServer, id: number): JsonObject {
  const c = s.counters;
  return {
    address: s.addressText,
    dropRate: 0,
    id,
    // dnsdist sends no latency for a backend forced down.
    latency: s.availability === 'down' ? null : s.latencyUsec / 1000,
    name: s.name,
    order: s.config.order,
    outstanding: s.outstanding,
    // dnsdist keeps a backend's pools in a std::set: sorted.
    pools: [...s.config.pools].sort(),
    qps: s.queryLoad,
    qpsLimit: s.config.qps,
    queries: c.queries,
    responses: c.responses,
    reuseds: c.reuseds,
    sendErrors: c.sendErrors,
    state: s.stateText(),
    tcpAvgConnectionDuration: c.tcpAvgConnectionDuration,
    tcpAvgQueriesPerConnection: c.tcpAvgQueriesPerConnection,
    tcpConnectTimeouts: c.tcpConnectTimeouts,
    tcpCurrentConnections: s.tcpCurrentConnections,
    tcpDiedReadingResponse: c.tcpDiedReadingResponse,
    tcpDiedSendingQuery: c.tcpDiedSendingQuery,
    tcpGaveUp: c.tcpGaveUp,
    tcpMaxConcurrentConnections: c.tcpMaxConcurrentConnections,
    tcpNewConnections: c.tcpNewConnections,
    tcpReadTimeouts: c.tcpReadTimeouts,
    tcpReusedConnections: c.tcpReusedConnections,
    tcpWriteTimeouts: c.tcpWriteTimeouts,
    tlsResumptions: c.tlsResumptions,
    weight: s.config.weight,
  };
}

/** A TLS listener's counters as the frontend JSON carries them (zeros for plain listeners). */
interface TlsJsonCounters {
  queriesByVersion: readonly number[];
  newSessions: number;
  resumptions: number;
  unknownTicketKeys: number;
  inactiveTicketKeys: number;
  handshakeFailures: ReadonlyMap<TlsHandshakeFailure, number>;
}

const NO_TLS: TlsJsonCounters = {
  queriesByVersion: [0, 0, 0, 0, 0],
  newSessions: 0,
  resumptions: 0,
  unknownTicketKeys: 0,
  inactiveTicketKeys: 0,
  handshakeFailures: new Map(),
};

/** The TCP figures a listener may keep beyond its current connections. */
interface TcpJsonFigures {
  maxConcurrentConnections: number;
  avgQueriesPerConnection: number;
  avgConnectionDuration: number;
}

const NO_TCP_FIGURES: TcpJsonFigures = { maxConcurrentConnections: 0, avgQueriesPerConnection: 0, avgConnectionDuration: 0 };

function frontendJson(
  address: string,
  id: number,
  kind: 'UDP' | 'TCP' | 'TCP (DNS over TLS)' | 'UDP (DNSCrypt)' | 'TCP (DNSCrypt)',
  queries: number,
  responses: number,
  currentConnections: number,
  t: TlsJsonCounters = NO_TLS,
  tcp: TcpJsonFigures = NO_TCP_FIGURES,
): JsonObject {
  const udp = kind === 'UDP' || kind === 'UDP (DNSCrypt)';
  const hf = (k: TlsHandshakeFailure): number => t.handshakeFailures.get(k) ?? 0;
  const json: JsonObject = {
    address,
    id,
    queries,
    responses,
    tcp: !udp,
    tcpAvgConnectionDuration: tcp.avgConnectionDuration,
    tcpAvgQueriesPerConnection: tcp.avgQueriesPerConnection,
    tcpClientTimeouts: 0,
    tcpCurrentConnections: currentConnections,
    tcpDiedReadingQuery: 0,
    tcpDiedSendingResponse: 0,
    tcpDownstreamTimeouts: 0,
    tcpGaveUp: 0,
    tcpMaxConcurrentConnections: tcp.maxConcurrentConnections,
    tls10Queries: t.queriesByVersion[0]!,
    tls11Queries: t.queriesByVersion[1]!,
    tls12Queries: t.queriesByVersion[2]!,
    tls13Queries: t.queriesByVersion[3]!,
  };
  // dnsdist lists the handshake failures of TLS listeners only, between the version and session counters.
  if (kind === 'TCP (DNS over TLS)') {
    Object.assign(json, {
      tlsHandshakeFailuresDHKeyTooSmall: hf('dhKeyTooSmall'),
      tlsHandshakeFailuresInappropriateFallBack: hf('inappropriateFallBack'),
      tlsHandshakeFailuresNoSharedCipher: hf('noSharedCipher'),
      tlsHandshakeFailuresUnknownCipher: hf('unknownCipherType'),
      tlsHandshakeFailuresUnknownKeyExchangeType: hf('unknownKeyExchangeType'),
      tlsHandshakeFailuresUnknownProtocol: hf('unknownProtocol'),
      tlsHandshakeFailuresUnsupportedEC: hf('unsupportedEC'),
      tlsHandshakeFailuresUnsupportedProtocol: hf('unsupportedProtocol'),
    });
  }
  Object.assign(json, {
    tlsInactiveTicketKey: t.inactiveTicketKeys,
    tlsNewSessions: t.newSessions,
    tlsResumptions: t.resumptions,
    tlsUnknownQueries: t.queriesByVersion[4]!,
    tlsUnknownTicketKey: t.unknownTicketKeys,
    type: kind,
    udp,
  });
  return json;
}

/** Each listener twice, UDP then TCP, numbered in that order (dnsdist's g_frontends), then the TLS listeners. */
export function frontendsJson(frontends: readonly RunningFrontend[], tlsFrontends: readonly RunningTlsFrontend[] = []): JsonObject[] {
  const out: JsonObject[] = [];
  for (const f of frontends) {
    out.push(frontendJson(f.udp.local.toStringWithPort(), out.length, 'UDP', f.udp.queries, f.udp.responses, 0));
    out.push(frontendJson(f.tcp.local.toStringWithPort(), out.length, 'TCP', f.tcp.queries, f.tcp.responses, f.tcp.currentConnections));
  }
  for (const f of tlsFrontends) {
    const c = f.tls.counters;
    const keys = f.config.tls.ticketKeys;
    out.push(
      frontendJson(
        f.tcp.local.toStringWithPort(),
        out.length,
        'TCP (DNS over TLS)',
        f.tcp.queries,
        f.tcp.responses,
        f.tcp.currentConnections,
        {
          queriesByVersion: c.queriesByVersion,
          newSessions: c.newSessions,
          resumptions: c.resumptions,
          unknownTicketKeys: keys.unknownTicketKeys,
          inactiveTicketKeys: keys.inactiveTicketKeys,
          handshakeFailures: c.handshakeFailures,
        },
      ),
    );
  }
  return out;
}

/** The DNSCrypt listeners' frontends, UDP then TCP (with doTCP) for each, numbered from `firstId`. */
export function dnscryptFrontendsJson(binds: readonly DNSCryptBind[], firstId: number): JsonObject[] {
  const out: JsonObject[] = [];
  for (const b of binds) {
    const address = b.local.toStringWithPort();
    const u = b.udpCounters;
    out.push(frontendJson(address, firstId + out.length, 'UDP (DNSCrypt)', u.queries, u.responses, 0));
    if (!b.config.doTCP) continue;
    const t = b.tcpCounters;
    const id = firstId + out.length;
    out.push(
      frontendJson(address, id, 'TCP (DNSCrypt)', t.queries, t.responses, b.tcpCurrentConnections, NO_TLS, {
        maxConcurrentConnections: b.tcpMaxConcurrentConnections,
        avgQueriesPerConnection: b.tcpAvgQueriesPerConnection,
        avgConnectionDuration: b.tcpAvgConnectionDuration,
      }),
    );
  }
  return out;
}

/** Pool statistics (without the `id` of the pool list). */
function poolStatsJson(pool: ServerPool<object>): JsonObject {
  const cs = cacheStatsOf(pool);
  return {
    cacheDeferredInserts: cs?.deferredInserts ?? 0,
    cacheDeferredLookups: cs?.deferredLookups ?? 0,
    cacheEntries: cs?.entries ?? 0,
    cacheHits: cs?.hits ?? 0,
    cacheInsertCollisions: cs?.insertCollisions ?? 0,
    cacheLookupCollisions: cs?.lookupCollisions ?? 0,
    cacheMisses: cs?.misses ?? 0,
    cacheSize: cs?.maxEntries ?? 0,
    cacheTTLTooShorts: cs?.ttlTooShorts ?? 0,
    name: pool.name,
    serversCount: pool.servers.length,
  };
}

/** Pools sorted by name, the default pool ("") first, as dnsdist's std::map holds them. */
export function sortedPools(proxy: DnsdistProxy): ServerPool<object>[] {
  return [...proxy.pools.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function queryRulesJson(rules: readonly ApiRule[]): JsonObject[] {
  // dnsdist 1.7.3 lists query rules without their name (response rules have it).
  return rules.map((r, id) => ({
    action: r.action.toString(),
    'action-stats': typeof r.action.getStats === 'function' ? r.action.getStats() : { '': 0 },
    creationOrder: r.creationOrder,
    id,
    matches: r.hits,
    rule: r.selector.toString(),
    uuid: r.uuid,
  }));
}

function responseRulesJson(rules: readonly ApiRule[]): JsonObject[] {
  return rules.map((r, id) => ({
    action: r.action.toString(),
    creationOrder: r.creationOrder,
    id,
    matches: r.hits,
    name: r.name,
    rule: r.selector.toString(),
    uuid: r.uuid,
  }));
}

/** `/api/v1/servers/localhost`. */
export function localhostJson(src: ApiSources): JsonObject {
  const proxy = src.proxy;
  const locals = new Set<string>();
  for (const f of proxy.frontends) {
    locals.add(f.udp.local.toStringWithPort());
    locals.add(f.tcp.local.toStringWithPort());
  }
  for (const f of proxy.tlsFrontends) locals.add(f.tcp.local.toStringWithPort());
  for (const f of proxy.dohFrontends) locals.add(f.local.toStringWithPort());
  for (const b of proxy.dnscryptBinds) locals.add(b.local.toStringWithPort());
  const plainFrontends = frontendsJson(proxy.frontends, proxy.tlsFrontends);
  const dohEntries = dohFrontendEntriesJson(proxy.dohFrontends, plainFrontends.length);
  return {
    acl: proxy.aclStrings().join(', '),
    'cache-hit-response-rules': responseRulesJson(src.rules.cacheHit.rules),
    daemon_type: 'dnsdist',
    dohFrontends: dohFrontendsJson(proxy.dohFrontends),
    frontends: [...plainFrontends, ...dohEntries, ...dnscryptFrontendsJson(proxy.dnscryptBinds, plainFrontends.length + dohEntries.length)],
    local: [...locals].sort().join(', '),
    pools: sortedPools(proxy).map((p, id) => ({ ...poolStatsJson(p), id })),
    'response-rules': responseRulesJson(src.rules.response.rules),
    rules: queryRulesJson(src.rules.query.rules),
    'self-answered-response-rules': responseRulesJson(src.rules.selfAnswered.rules),
    servers: proxy.servers.map((s, id) => serverJson(s, id)),
    version: src.version,
  };
}

/** `/api/v1/servers/localhost/pool?name=`: undefined for an unknown pool. */
export function poolJson(proxy: DnsdistProxy, name: string): JsonObject | undefined {
  const pool = proxy.pools.get(name);
  if (!pool) return undefined;
  return { servers: pool.servers.map((s, id) => serverJson(s, id)), stats: poolStatsJson(pool) };
}

/** The statistics in dnsdist's order, special-memory-usage left out (too costly for a listing, says dnsdist). */
export function orderedStats(stats: readonly StatEntry[]): Array<[string, number]> {
  const byName = new Map(stats.map((e) => [e.name, e.value]));
  return [...DNSDIST_STATS.map((d) => d.name), ...DNSDIST_JSON_ONLY_STATS].map((name) => [name, byName.get(name) ?? 0]);
}

/** `/api/v1/servers/localhost/statistics`. */
export function statisticsJson(stats: readonly StatEntry[]): JsonObject[] {
  return orderedStats(stats).map(([name, value]) => ({ name, type: 'StatisticItem', value }));
}

/** `/jsonstat?command=stats`: every statistic, the policy, and four keys dnsdist keeps at 0 for old clients. */
export function jsonstatStats(src: ApiSources): JsonObject {
  const out: JsonObject = {
    'packetcache-hits': 0,
    'packetcache-misses': 0,
    'over-capacity-drops': 0,
    'too-old-drops': 0,
    'server-policy': src.proxy.defaultPolicy.name,
  };
  for (const [name, value] of orderedStats(src.stats())) out[name] = value;
  return out;
}

/** `/api/v1/servers/localhost/config`: dnsdist 1.7.3's fifteen settings. */
export function configJson(src: ApiSources): JsonObject[] {
  const p = src.proxy;
  const settings: Array<[string, JsonValue]> = [
    ['acl', p.aclStrings().join(', ')],
    ['allow-empty-response', false],
    ['control-socket', src.controlSocket()],
    ['ecs-override', false],
    ['ecs-source-prefix-v4', 24],
    ['ecs-source-prefix-v6', 56],
    ['fixup-case', false],
    ['max-outstanding', p.settings.maxUDPOutstanding],
    ['server-policy', p.defaultPolicy.name],
    ['stale-cache-entries-ttl', p.settings.staleCacheEntriesTTL],
    ['tcp-recv-timeout', p.settings.tcpRecvTimeoutSeconds],
    ['tcp-send-timeout', 2],
    ['truncate-tc', false],
    ['verbose', p.log.verbose],
    ['verbose-health-checks', false],
  ];
  return settings.map(([name, value]) => ({ name, type: 'ConfigSetting', value }));
}

/** `/api/v1/servers/localhost/config/allow-from`. */
export function allowFromJson(proxy: DnsdistProxy): JsonObject {
  return { name: 'allow-from', type: 'ConfigSetting', value: proxy.aclStrings() };
}
