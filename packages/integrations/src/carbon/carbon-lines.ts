/**
 * The Carbon (Graphite plaintext) lines dnsdist 1.7.3 sends: one
 * `path value timestamp\r\n` line per statistic, backend, frontend and pool
 * figure, every path under `<namespace>.<ourname>.<instance>.`. The metric
 * names are dnsdist's, misspellings included (`tcpdiedreaddingresponse`,
 * `tcpreadimeouts`, `tcpclientimeouts`): Graphite dashboards built for
 * dnsdist look them up by these paths.
 */
import type { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import type { ServerPool } from '@dnsdist-ts/dataplane/backend/server-pool.js';
import type { PacketCacheStats } from '@dnsdist-ts/dataplane/cache/packet-cache-console-texts.js';
import type { DNSCryptBind } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-bind.js';
import type { DohFrontend } from '@dnsdist-ts/dataplane/doh/doh-frontend.js';
import type { RunningFrontend, RunningTlsFrontend } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import type { TlsHandshakeFailure } from '@dnsdist-ts/dataplane/server/tls-frontend.js';
import type { StatEntry } from '@dnsdist-ts/dataplane/stats/stats-snapshot.js';

/** What one export reads. */
export interface CarbonSources {
  readonly stats: readonly StatEntry[];
  readonly servers: readonly DownstreamServer[];
  readonly frontends: readonly RunningFrontend[];
  /** addTLSLocal listeners: `<address>_tcp` frontends with the TLS figures and handshake failures. */
  readonly tlsFrontends?: readonly RunningTlsFrontend[];
  /** addDOHLocal listeners (with or without TLS): `<address>_tcp` frontends, as the DoT ones. */
  readonly dohFrontends?: readonly DohFrontend[];
  /** addDNSCryptBind listeners: frontends too, named like the others (`<address>_udp`, `_tcp`). */
  readonly dnscryptBinds?: readonly DNSCryptBind[];
  readonly pools: ReadonlyMap<string, ServerPool<object>>;
}

/** The path prefix of one carbonServer: `namespace.ourname.instance.`. */
export function carbonPrefix(namespace: string, ourname: string, instance: string): string {
  return `${namespace}.${ourname}.${instance}.`;
}

/**
 * A double as C++'s default ostream formatting writes it (`%g`, six
 * significant digits, exponent form below 1e-4 and from 1e6): "0", "12.5", "1.23457e+08". dnsdist's integer
 * counters are written whole (formatCarbonInteger).
 */
export function formatCarbonDouble(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  if (v === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 6) {
    const [mantissa, e] = v.toExponential(5).split('e') as [string, string];
    const m = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(Number(v.toPrecision(6)));
}

/** An integer counter or gauge, written whole as dnsdist writes its 64-bit counters. */
function formatCarbonInteger(v: number): string {
  return Number.isFinite(v) ? String(Math.trunc(v)) : '0';
}

/** Figures dnsdist keeps as doubles (the others are integer counters). */
const DOUBLE_SERVER_FIGURES = new Set(['latency', 'tcpavgqueriesperconnection', 'tcpavgconnectionduration']);

/** Backend figures, in dnsdist's order. `drops` is the reused-ID count, as dnsdist sends it. */
const SERVER_FIGURES: ReadonlyArray<readonly [string, (s: DownstreamServer) => number]> = [
  ['queries', (s) => s.counters.queries],
  ['responses', (s) => s.counters.responses],
  ['drops', (s) => s.counters.reuseds],
  ['latency', (s) => (s.availability === 'down' ? 0 : s.latencyUsec / 1000)],
  ['senderrors', (s) => s.counters.sendErrors],
  ['outstanding', (s) => s.outstanding],
  ['tcpdiedsendingquery', (s) => s.counters.tcpDiedSendingQuery],
  ['tcpdiedreaddingresponse', (s) => s.counters.tcpDiedReadingResponse],
  ['tcpgaveup', (s) => s.counters.tcpGaveUp],
  ['tcpreadimeouts', (s) => s.counters.tcpReadTimeouts],
  ['tcpwritetimeouts', (s) => s.counters.tcpWriteTimeouts],
  ['tcpconnecttimeouts', (s) => s.counters.tcpConnectTimeouts],
  ['tcpcurrentconnections', (s) => s.tcpCurrentConnections],
  ['tcpmaxconcurrentconnections', (s) => s.counters.tcpMaxConcurrentConnections],
  ['tcpnewconnections', (s) => s.counters.tcpNewConnections],
  ['tcpreusedconnections', (s) => s.counters.tcpReusedConnections],
  ['tlsresumptions', () => 0],
  ['tcpavgqueriesperconnection', (s) => s.counters.tcpAvgQueriesPerConnection],
  ['tcpavgconnectionduration', (s) => s.counters.tcpAvgConnectionDuration],
];

/** Frontend figures, in dnsdist's order; the TLS ones are 0 but for DoT and DoH listeners. */
const FRONTEND_FIGURES: readonly string[] = [
  'queries',
  'responses',
  'tcpdiedreadingquery',
  'tcpdiedsendingresponse',
  'tcpgaveup',
  'tcpclientimeouts',
  'tcpdownstreamtimeouts',
  'tcpcurrentconnections',
  'tcpmaxconcurrentconnections',
  'tcpavgqueriesperconnection',
  'tcpavgconnectionduration',
  'tls10-queries',
  'tls11-queries',
  'tls12-queries',
  'tls13-queries',
  'tls-unknown-queries',
  'tlsnewsessions',
  'tlsresumptions',
  'tlsunknownticketkeys',
  'tlsinactiveticketkeys',
];

/** The handshake failures dnsdist adds after the frontend figures of a DoT or DoH listener, in its order. */
const TLS_FAILURE_FIGURES: ReadonlyArray<readonly [string, TlsHandshakeFailure]> = [
  ['tlsdhkeytoosmall', 'dhKeyTooSmall'],
  ['tlsinappropriatefallback', 'inappropriateFallBack'],
  ['tlsnosharedcipher', 'noSharedCipher'],
  ['tlsunknownciphertype', 'unknownCipherType'],
  ['tlsunknownkeyexchangetype', 'unknownKeyExchangeType'],
  ['tlsunknownprotocol', 'unknownProtocol'],
  ['tlsunsupportedec', 'unsupportedEC'],
  ['tlsunsupportedprotocol', 'unsupportedProtocol'],
];

/** One listener socket as Carbon names it; `tlsFailures` only for DoT and DoH listeners. */
interface CarbonFrontend {
  proto: 'udp' | 'tcp';
  local: { toStringWithPort(): string };
  values: Record<string, number>;
  tlsFailures?: ReadonlyMap<TlsHandshakeFailure, number>;
}

const NO_FAILURES: ReadonlyMap<TlsHandshakeFailure, number> = new Map();

const CACHE_FIGURES: ReadonlyArray<readonly [string, (c: PacketCacheStats) => number]> = [
  ['cache-size', (c) => c.maxEntries],
  ['cache-entries', (c) => c.entries],
  ['cache-hits', (c) => c.hits],
  ['cache-misses', (c) => c.misses],
  ['cache-deferred-inserts', (c) => c.deferredInserts],
  ['cache-deferred-lookups', (c) => c.deferredLookups],
  ['cache-lookup-collisions', (c) => c.lookupCollisions],
  ['cache-insert-collisions', (c) => c.insertCollisions],
  ['cache-ttl-too-shorts', (c) => c.ttlTooShorts],
];

/** Dots separate Graphite path components: dnsdist writes them as underscores inside a name. */
const pathPart = (name: string): string => name.replace(/\./g, '_');

/** Every line of one export, `prefix` from carbonPrefix, `now` in seconds since the epoch. */
export function carbonLines(src: CarbonSources, prefix: string, now: number): string {
  const out: string[] = [];
  const line = (path: string, value: number, isDouble = false): void =>
    void out.push(`${prefix}${path} ${isDouble ? formatCarbonDouble(value) : formatCarbonInteger(value)} ${now}\r\n`);
  for (const e of src.stats) line(e.name, e.value, e.isFloat);
  for (const s of src.servers) {
    const base = `servers.${pathPart(s.name !== '' ? s.name : s.addressText)}.`;
    for (const [name, value] of SERVER_FIGURES) line(base + name, value(s), DOUBLE_SERVER_FIGURES.has(name));
  }
  // UDP and TCP sockets of a listener are separate frontends; a repeated name gets _1, _2… (dnsdist's rule).
  const seen = new Map<string, number>();
  for (const { proto, local, values, tlsFailures } of carbonFrontends(src)) {
    let name = pathPart(`${local.toStringWithPort()}_${proto}`);
    const n = seen.get(name);
    if (n === undefined) seen.set(name, 1);
    else {
      seen.set(name, n + 1);
      name = `${name}_${n}`;
    }
    for (const figure of FRONTEND_FIGURES) line(`frontends.${name}.${figure}`, values[figure] ?? 0, figure.startsWith('tcpavg'));
    if (tlsFailures === undefined) continue;
    for (const [figure, kind] of TLS_FAILURE_FIGURES) line(`frontends.${name}.${figure}`, tlsFailures.get(kind) ?? 0);
  }
  // dnsdist keeps pools in a std::map: sorted by name, the default pool ("") first.
  const pools = [...src.pools.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const pool of pools) {
    const base = `pools.${pool.name === '' ? '_default_' : pathPart(pool.name)}.`;
    line(`${base}servers`, pool.servers.length);
    line(`${base}servers-up`, pool.countUp());
    const cache = pool.cache as { getStats?: () => PacketCacheStats } | undefined;
    if (cache && typeof cache.getStats === 'function') {
      const stats = cache.getStats();
      for (const [name, value] of CACHE_FIGURES) line(base + name, value(stats));
    }
  }
  return out.join('');
}

/**
 * Every listener socket in the order the API lists them: plain UDP and TCP,
 * DoT, DoH, DNSCrypt. dnsdist 1.7.3 names DoT and DoH listeners `_tcp` like
 * a plain TCP socket.
 */
function carbonFrontends(src: CarbonSources): CarbonFrontend[] {
  const out: CarbonFrontend[] = [];
  for (const f of src.frontends) {
    out.push({ proto: 'udp', local: f.udp.local, values: { queries: f.udp.queries, responses: f.udp.responses } });
    const t = f.tcp;
    out.push({
      proto: 'tcp',
      local: t.local,
      values: { queries: t.queries, responses: t.responses, tcpcurrentconnections: t.currentConnections },
    });
  }
  for (const f of src.tlsFrontends ?? []) {
    const c = f.tls.counters;
    const keys = f.config.tls.ticketKeys;
    const [tls10, tls11, tls12, tls13, unknown] = c.queriesByVersion;
    out.push({
      proto: 'tcp',
      local: f.tcp.local,
      values: {
        queries: f.tcp.queries,
        responses: f.tcp.responses,
        tcpcurrentconnections: f.tcp.currentConnections,
        'tls10-queries': tls10 ?? 0,
        'tls11-queries': tls11 ?? 0,
        'tls12-queries': tls12 ?? 0,
        'tls13-queries': tls13 ?? 0,
        'tls-unknown-queries': unknown ?? 0,
        tlsnewsessions: c.newSessions,
        tlsresumptions: c.resumptions,
        tlsunknownticketkeys: keys.unknownTicketKeys,
        tlsinactiveticketkeys: keys.inactiveTicketKeys,
      },
      tlsFailures: c.handshakeFailures,
    });
  }
  for (const f of src.dohFrontends ?? []) {
    const c = f.counters;
    out.push({
      proto: 'tcp',
      local: f.local,
      values: {
        queries: c.queries,
        responses: c.responses,
        tcpcurrentconnections: c.currentConnections,
        tcpmaxconcurrentconnections: c.maxConcurrentConnections,
        'tls10-queries': c.tls10Queries,
        'tls11-queries': c.tls11Queries,
        'tls12-queries': c.tls12Queries,
        'tls13-queries': c.tls13Queries,
        'tls-unknown-queries': c.tlsUnknownQueries,
        tlsnewsessions: c.tlsNewSessions,
        tlsresumptions: c.tlsResumptions,
      },
      // Handshake failures are not counted per DoH listener here (the API shows 0 too); dnsdist still sends the lines.
      tlsFailures: NO_FAILURES,
    });
  }
  for (const b of src.dnscryptBinds ?? []) {
    out.push({ proto: 'udp', local: b.local, values: { queries: b.udpCounters.queries, responses: b.udpCounters.responses } });
    if (!b.config.doTCP) continue;
    const t = b.tcpCounters;
    out.push({
      proto: 'tcp',
      local: b.local,
      values: {
        queries: t.queries,
        responses: t.responses,
        tcpcurrentconnections: b.tcpCurrentConnections,
        tcpmaxconcurrentconnections: b.tcpMaxConcurrentConnections,
        tcpavgqueriesperconnection: b.tcpAvgQueriesPerConnection,
        tcpavgconnectionduration: b.tcpAvgConnectionDuration,
      },
    });
  }
  return out;
}
