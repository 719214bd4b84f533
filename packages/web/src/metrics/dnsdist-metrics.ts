/**
 * The metric families dnsdist 1.7.3 exposes on `/metrics`, with its names,
 * types, labels and HELP texts, filled from the proxy's own counters at
 * scrape time. Family order follows dnsdist; within a family the samples
 * are grouped (dnsdist interleaves the per-backend samples, which the text
 * format does not allow).
 */
import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import type { ServerPool } from '@dnsdist-ts/dataplane/backend/server-pool.js';
import type { PacketCacheStats } from '@dnsdist-ts/dataplane/cache/packet-cache-console-texts.js';
import type { RunningFrontend, RunningTlsFrontend } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { TLS_VERSION_LABELS } from '@dnsdist-ts/dataplane/server/tls-frontend.js';
import type { StatEntry } from '@dnsdist-ts/dataplane/stats/stats-snapshot.js';
import { DNSDIST_STATS, prometheusStatName } from './dnsdist-stat-definitions.js';
import type { DohFrontend } from '@dnsdist-ts/dataplane/doh/doh-frontend.js';
import type { DNSCryptBind } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-bind.js';
import { writeDohFamilySamples, writeDohFrontendSamples } from './doh-metrics.js';
import type { MetricsSink } from './metrics-sink.js';
import type { PrometheusLabels, PrometheusType } from './prometheus-text-writer.js';
import type { TopOffenders } from './top-offenders.js';

/** A rule as the metrics see it (any chain). */
export interface RuleHitsSource {
  readonly name: string;
  readonly uuid: string;
  readonly hits: number;
}

/** Everything the dnsdist families are made of. */
export interface DnsdistMetricsSources {
  /** statsSnapshot() of this scrape. */
  readonly stats: readonly StatEntry[];
  readonly servers: readonly DownstreamServer[];
  readonly frontends: readonly RunningFrontend[];
  /** addTLSLocal listeners (proto "TCP (DNS over TLS)", with the TLS families). */
  readonly tlsFrontends?: readonly RunningTlsFrontend[];
  /** addDOHLocal frontends (none when left out). */
  readonly dohFrontends?: readonly DohFrontend[];
  /** addDNSCryptBind listeners (proto "UDP (DNSCrypt)" and "TCP (DNSCrypt)"). */
  readonly dnscryptBinds?: readonly DNSCryptBind[];
  readonly pools: ReadonlyMap<string, ServerPool<object>>;
  /** Query rules, then response, cache-hit and self-answered response rules (dnsdist's order). */
  readonly rules: Iterable<RuleHitsSource>;
  readonly topOffenders: TopOffenders;
  /** Value of the `version` label of dnsdist_info. */
  readonly version: string;
}

type Family = readonly [suffix: string, type: PrometheusType, help: string];

const SERVER_FAMILIES: readonly Family[] = [
  ['status', 'gauge', 'Whether this backend is up (1) or down (0)'],
  ['queries', 'counter', 'Amount of queries relayed to server'],
  ['responses', 'counter', 'Amount of responses received from this server'],
  ['drops', 'counter', 'Amount of queries not answered by server'],
  ['latency', 'gauge', "Server's latency when answering questions in milliseconds"],
  ['senderrors', 'counter', 'Total number of OS send errors while relaying queries'],
  ['outstanding', 'gauge', 'Current number of queries that are waiting for a backend response'],
  ['order', 'gauge', 'The order in which this server is picked'],
  ['weight', 'gauge', 'The weight within the order in which this server is picked'],
  ['tcpdiedsendingquery', 'counter', 'The number of TCP I/O errors while sending the query'],
  ['tcpdiedreadingresponse', 'counter', 'The number of TCP I/O errors while reading the response'],
  ['tcpgaveup', 'counter', 'The number of TCP connections failing after too many attempts'],
  ['tcpconnecttimeouts', 'counter', 'The number of TCP connect timeouts'],
  ['tcpreadtimeouts', 'counter', 'The number of TCP read timeouts'],
  ['tcpwritetimeouts', 'counter', 'The number of TCP write timeouts'],
  ['tcpcurrentconnections', 'gauge', 'The number of current TCP connections'],
  ['tcpmaxconcurrentconnections', 'counter', 'The maximum number of concurrent TCP connections'],
  ['tcpnewconnections', 'counter', 'The number of established TCP connections in total'],
  ['tcpreusedconnections', 'counter', 'The number of times a TCP connection has been reused'],
  ['tcpavgqueriesperconn', 'gauge', 'The average number of queries per TCP connection'],
  ['tcpavgconnduration', 'gauge', 'The average duration of a TCP connection (ms)'],
  // dnsdist 1.7.3 misspells this family's TYPE line ("tlsersumptions"); ours names it right.
  ['tlsresumptions', 'counter', 'The number of times a TLS session has been resumed'],
];

const FRONTEND_FAMILIES: readonly Family[] = [
  ['queries', 'counter', 'Amount of queries received by this frontend'],
  ['responses', 'counter', 'Amount of responses sent by this frontend'],
  ['tcpdiedreadingquery', 'counter', 'Amount of TCP connections terminated while reading the query from the client'],
  ['tcpdiedsendingresponse', 'counter', 'Amount of TCP connections terminated while sending a response to the client'],
  ['tcpgaveup', 'counter', 'Amount of TCP connections terminated after too many attempts to get a connection to the backend'],
  ['tcpclientimeouts', 'counter', 'Amount of TCP connections terminated by a timeout while reading from the client'],
  ['tcpdownstreamtimeouts', 'counter', 'Amount of TCP connections terminated by a timeout while reading from the backend'],
  ['tcpcurrentconnections', 'gauge', 'Amount of current incoming TCP connections from clients'],
  ['tcpmaxconcurrentconnections', 'counter', 'Maximum number of concurrent incoming TCP connections from clients'],
  ['tcpavgqueriesperconnection', 'gauge', 'The average number of queries per TCP connection'],
  ['tcpavgconnectionduration', 'gauge', 'The average duration of a TCP connection (ms)'],
  ['tlsqueries', 'counter', 'Number of queries received by dnsdist over TLS, by TLS version'],
  ['tlsnewsessions', 'counter', 'Amount of new TLS sessions negotiated'],
  ['tlsresumptions', 'counter', 'Amount of TLS sessions resumed'],
  ['tlsunknownticketkeys', 'counter', 'Amount of attempts to resume TLS session from an unknown key (possibly expired)'],
  ['tlsinactiveticketkeys', 'counter', 'Amount of TLS sessions resumed from an inactive key'],
  ['tlshandshakefailures', 'counter', 'Amount of TLS handshake failures'],
];

const DOH_FAMILIES: readonly Family[] = [
  ['http_connects', 'counter', 'Number of DoH TCP connections established to this frontend'],
  ['doh_http_method_queries', 'counter', 'Number of DoH queries received by dnsdist, by HTTP method'],
  ['doh_http_version_queries', 'counter', 'Number of DoH queries received by dnsdist, by HTTP version'],
  ['doh_bad_requests', 'counter', 'Number of requests that could not be converted to a DNS query'],
  ['doh_responses', 'counter', 'Number of responses sent, by type'],
  // Same HELP as doh_bad_requests in dnsdist 1.7.3.
  ['doh_version_status_responses', 'counter', 'Number of requests that could not be converted to a DNS query'],
];

const POOL_FAMILIES: readonly Family[] = [
  ['servers', 'gauge', 'Number of servers in that pool'],
  ['active_servers', 'gauge', 'Number of available servers in that pool'],
  ['cache_size', 'gauge', 'Maximum number of entries that this cache can hold'],
  ['cache_entries', 'gauge', 'Number of entries currently present in that cache'],
  ['cache_hits', 'counter', 'Number of hits from that cache'],
  ['cache_misses', 'counter', 'Number of misses from that cache'],
  ['cache_deferred_inserts', 'counter', 'Number of insertions into that cache skipped because it was already locked'],
  ['cache_deferred_lookups', 'counter', 'Number of lookups into that cache skipped because it was already locked'],
  ['cache_lookup_collisions', 'counter', 'Number of lookups into that cache that triggered a collision (same hash but different entry)'],
  ['cache_insert_collisions', 'counter', 'Number of insertions into that cache that triggered a collision (same hash but different entry)'],
  ['cache_ttl_too_shorts', 'counter', 'Number of insertions into that cache skipped because the TTL of the answer was not long enough'],
];

/** The `server` label: the name (the address when unnamed) with dots as underscores, as dnsdist writes it. */
export function serverLabel(server: DownstreamServer): string {
  return (server.name !== '' ? server.name : server.addressText).replace(/\./g, '_');
}

/** A pool's cache stats when its cache is a packet cache. */
function cacheStats(pool: ServerPool<object>): PacketCacheStats | undefined {
  const c = pool.cache as { getStats?: () => PacketCacheStats } | undefined;
  return c && typeof c.getStats === 'function' ? c.getStats() : undefined;
}

/** Write every dnsdist 1.7.3 family. */
export function writeDnsdistMetrics(w: MetricsSink, src: DnsdistMetricsSources): void {
  writeGeneralStats(w, src.stats);
  writeLatencyHistogram(w, src.stats);
  writeServers(w, src.servers);
  const doh = src.dohFrontends ?? [];
  writeFrontends(w, frontendSockets(src.frontends, src.tlsFrontends ?? [], src.dnscryptBinds ?? []), doh);
  for (const [suffix, type, help] of DOH_FAMILIES) {
    w.family(`dnsdist_frontend_${suffix}`, type, help);
    writeDohFamilySamples(w, `dnsdist_frontend_${suffix}`, suffix, doh);
  }
  writePools(w, src.pools);
  w.family('dnsdist_rule_hits', 'counter', 'Number of hits of that rule');
  for (const r of src.rules) w.sample('dnsdist_rule_hits', r.hits, [['id', r.name !== '' ? r.name : r.uuid]]);
  writeTopOffenders(w, src.topOffenders);
  w.family('dnsdist_info', 'gauge', 'Info from dnsdist, value is always 1');
  w.sample('dnsdist_info', 1, [['version', src.version]]);
}

function writeGeneralStats(w: MetricsSink, stats: readonly StatEntry[]): void {
  const byName = new Map<string, number>();
  for (const e of stats) byName.set(e.name, e.value);
  for (const def of DNSDIST_STATS) {
    const name = prometheusStatName(def.name);
    w.family(name, def.type, def.help);
    w.sample(name, byName.get(def.name) ?? 0);
  }
}

function writeLatencyHistogram(w: MetricsSink, stats: readonly StatEntry[]): void {
  const v = (name: string): number => stats.find((e) => e.name === name)?.value ?? 0;
  w.family('dnsdist_latency', 'histogram', 'Histogram of responses by latency (in milliseconds)');
  let cumulative = 0;
  for (const [le, name] of [
    ['1', 'latency0-1'],
    ['10', 'latency1-10'],
    ['50', 'latency10-50'],
    ['100', 'latency50-100'],
    ['1000', 'latency100-1000'],
    ['+Inf', 'latency-slow'],
  ] as const) {
    cumulative += v(name);
    w.sample('dnsdist_latency_bucket', cumulative, [['le', le]]);
  }
  w.sample('dnsdist_latency_sum', v('latency-sum'));
  w.sample('dnsdist_latency_count', v('latency-count'));
}

function serverValue(s: DownstreamServer, suffix: string): number | undefined {
  const c = s.counters;
  switch (suffix) {
    case 'status':
      return s.isUp() ? 1 : 0;
    case 'queries':
      return c.queries;
    case 'responses':
      return c.responses;
    case 'drops':
      return c.drops;
    case 'latency':
      // dnsdist only reports the latency of a backend that is up.
      return s.isUp() ? s.latencyUsec / 1000 : undefined;
    case 'senderrors':
      return c.sendErrors;
    case 'outstanding':
      return s.outstanding;
    case 'order':
      return s.config.order;
    case 'weight':
      return s.config.weight;
    case 'tcpdiedsendingquery':
      return c.tcpDiedSendingQuery;
    case 'tcpdiedreadingresponse':
      return c.tcpDiedReadingResponse;
    case 'tcpgaveup':
      return c.tcpGaveUp;
    case 'tcpconnecttimeouts':
      return c.tcpConnectTimeouts;
    case 'tcpreadtimeouts':
      return c.tcpReadTimeouts;
    case 'tcpwritetimeouts':
      return c.tcpWriteTimeouts;
    case 'tcpcurrentconnections':
      return s.tcpCurrentConnections;
    case 'tcpnewconnections':
      return c.tcpNewConnections;
    case 'tcpreusedconnections':
      return c.tcpReusedConnections;
    case 'tlsresumptions':
      return c.tlsResumptions;
    case 'tcpmaxconcurrentconnections':
      return c.tcpMaxConcurrentConnections;
    case 'tcpavgqueriesperconn':
      return c.tcpAvgQueriesPerConnection;
    case 'tcpavgconnduration':
      return c.tcpAvgConnectionDuration;
    default:
      return 0;
  }
}

function writeServers(w: MetricsSink, servers: readonly DownstreamServer[]): void {
  const labels = servers.map((s): PrometheusLabels => [
    ['server', serverLabel(s)],
    ['address', s.addressText],
  ]);
  for (const [suffix, type, help] of SERVER_FAMILIES) {
    const name = `dnsdist_server_${suffix}`;
    w.family(name, type, help);
    servers.forEach((s, i) => {
      const value = serverValue(s, suffix);
      if (value !== undefined) w.sample(name, value, labels[i]);
    });
  }
}

/** One listener socket as dnsdist counts frontends: UDP and TCP separately. */
interface FrontendSocket {
  address: string;
  proto: 'UDP' | 'TCP' | 'TCP (DNS over TLS)' | 'UDP (DNSCrypt)' | 'TCP (DNSCrypt)';
  thread: string;
  values: Record<string, number>;
  /** TLS listeners: the samples of the tls* families with their extra label. */
  tls?: RunningTlsFrontend;
}

function frontendSockets(
  frontends: readonly RunningFrontend[],
  tlsFrontends: readonly RunningTlsFrontend[],
  dnscryptBinds: readonly DNSCryptBind[],
): FrontendSocket[] {
  const out: FrontendSocket[] = [];
  // Several listeners on one address and protocol (reusePort) are told apart by a "thread" number.
  const seen = new Map<string, number>();
  const thread = (key: string): string => {
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    return String(n);
  };
  for (const f of frontends) {
    const address = f.udp.local.toStringWithPort();
    out.push({ address, proto: 'UDP', thread: thread(`${address}_UDP`), values: { queries: f.udp.queries, responses: f.udp.responses } });
    const tcp = f.tcp;
    out.push({
      address: tcp.local.toStringWithPort(),
      proto: 'TCP',
      thread: thread(`${tcp.local.toStringWithPort()}_TCP`),
      values: { queries: tcp.queries, responses: tcp.responses, tcpcurrentconnections: tcp.currentConnections },
    });
  }
  for (const f of tlsFrontends) {
    const address = f.tcp.local.toStringWithPort();
    const keys = f.config.tls.ticketKeys;
    out.push({
      address,
      proto: 'TCP (DNS over TLS)',
      thread: thread(`${address}_DoT`),
      values: {
        queries: f.tcp.queries,
        responses: f.tcp.responses,
        tcpcurrentconnections: f.tcp.currentConnections,
        tlsnewsessions: f.tls.counters.newSessions,
        tlsresumptions: f.tls.counters.resumptions,
        tlsunknownticketkeys: keys.unknownTicketKeys,
        tlsinactiveticketkeys: keys.inactiveTicketKeys,
      },
      tls: f,
    });
  }
  for (const b of dnscryptBinds) {
    const address = b.local.toStringWithPort();
    const udp = b.udpCounters;
    out.push({
      address,
      proto: 'UDP (DNSCrypt)',
      thread: thread(`${address}_DNSCryptUDP`),
      values: { queries: udp.queries, responses: udp.responses },
    });
    if (!b.config.doTCP) continue;
    const tcp = b.tcpCounters;
    out.push({
      address,
      proto: 'TCP (DNSCrypt)',
      thread: thread(`${address}_DNSCryptTCP`),
      values: {
        queries: tcp.queries,
        responses: tcp.responses,
        tcpcurrentconnections: b.tcpCurrentConnections,
        tcpmaxconcurrentconnections: b.tcpMaxConcurrentConnections,
        tcpavgqueriesperconnection: b.tcpAvgQueriesPerConnection,
        tcpavgconnectionduration: b.tcpAvgConnectionDuration,
      },
    });
  }
  return out;
}

const TCP_ONLY_FRONTEND = new Set([
  'tcpdiedreadingquery',
  'tcpdiedsendingresponse',
  'tcpgaveup',
  'tcpclientimeouts',
  'tcpdownstreamtimeouts',
  'tcpcurrentconnections',
  'tcpmaxconcurrentconnections',
  'tcpavgqueriesperconnection',
  'tcpavgconnectionduration',
]);

function writeFrontends(w: MetricsSink, sockets: readonly FrontendSocket[], doh: readonly DohFrontend[]): void {
  for (const [suffix, type, help] of FRONTEND_FAMILIES) {
    const name = `dnsdist_frontend_${suffix}`;
    w.family(name, type, help);
    for (const s of sockets) {
      if ((s.proto === 'UDP' || s.proto === 'UDP (DNSCrypt)') && TCP_ONLY_FRONTEND.has(suffix)) continue;
      const labels: PrometheusLabels = [
        ['frontend', s.address],
        ['proto', s.proto],
        ['thread', s.thread],
      ];
      if (suffix.startsWith('tls')) {
        // TLS families have samples for TLS listeners only.
        if (!s.tls) continue;
        if (suffix === 'tlsqueries') {
          const q = s.tls.tls.counters.queriesByVersion;
          TLS_VERSION_LABELS.forEach((v, i) => w.sample(name, q[i]!, [...labels, ['tls', v]]));
          continue;
        }
        if (suffix === 'tlshandshakefailures') {
          for (const [k, n] of s.tls.tls.counters.handshakeFailures) w.sample(name, n, [...labels, ['error', k]]);
          continue;
        }
      }
      w.sample(name, s.values[suffix] ?? 0, labels);
    }
    writeDohFrontendSamples(w, name, suffix, doh);
  }
}

function writePools(w: MetricsSink, pools: ReadonlyMap<string, ServerPool<object>>): void {
  // dnsdist keeps pools in a std::map: sorted by name, the default pool ("") first.
  const sorted = [...pools.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const stats = sorted.map((p) => cacheStats(p));
  for (const [suffix, type, help] of POOL_FAMILIES) {
    const name = `dnsdist_pool_${suffix}`;
    w.family(name, type, help);
    sorted.forEach((pool, i) => {
      const labels: PrometheusLabels = [['pool', pool.name === '' ? '_default_' : pool.name]];
      if (suffix === 'servers') return w.sample(name, pool.servers.length, labels);
      if (suffix === 'active_servers') return w.sample(name, pool.countUp(), labels);
      const cs = stats[i];
      if (!cs) return;
      const value = {
        cache_size: cs.maxEntries,
        cache_entries: cs.entries,
        cache_hits: cs.hits,
        cache_misses: cs.misses,
        cache_deferred_inserts: cs.deferredInserts,
        cache_deferred_lookups: cs.deferredLookups,
        cache_lookup_collisions: cs.lookupCollisions,
        cache_insert_collisions: cs.insertCollisions,
        cache_ttl_too_shorts: cs.ttlTooShorts,
      }[suffix];
      w.sample(name, value ?? 0, labels);
    });
  }
}

function writeTopOffenders(w: MetricsSink, top: TopOffenders): void {
  const nmg = 'dnsdist_dynblocks_nmg_top_offenders_hits_per_second';
  w.family(
    nmg,
    'gauge',
    'Number of hits per second blocked by Dynamic Blocks (netmasks) for the top offenders, averaged over the last 60s',
  );
  for (const [reason, list] of top.netmasks) {
    for (const [netmask, rate] of list) {
      w.sample(nmg, rate, [
        ['reason', reason],
        ['netmask', netmask],
      ]);
    }
  }
  const smt = 'dnsdist_dynblocks_smt_top_offenders_hits_per_second';
  // "Number of this per second" is dnsdist's wording.
  w.family(
    smt,
    'gauge',
    'Number of this per second blocked by Dynamic Blocks (suffixes) for the top offenders, averaged over the last 60s',
  );
  for (const [reason, list] of top.suffixes) {
    for (const [suffix, rate] of list) {
      w.sample(smt, rate, [
        ['reason', reason],
        ['suffix', suffix],
      ]);
    }
  }
}
