/**
 * Metric families of our own (prefix `dnsdist_ts_`), beyond what dnsdist
 * exposes: what the kernel does with the blocks (per entry, per action,
 * XDP verdicts and parse failures), what the dynamic-block engine does
 * (insertions, refreshes, expiries, kernel refusals, time-to-block), and
 * the scrape itself. They follow Prometheus naming (counters end in
 * `_total`, units in the name), which dnsdist's own families predate.
 */
import { COMPATIBLE_DNSDIST_VERSION, VERSION } from '@dnsdist-ts/dataplane/version.js';
import type {
  CrowdSecStatsSnapshot,
  DynBlockEngineStats,
  FleetStatsSnapshot,
  ObservabilityProviders,
  XdpStatsSnapshot,
} from './observability-providers.js';
import type { KindActionTotals } from './kernel-block-hits.js';
import type { MetricsSink } from './metrics-sink.js';
import type { PrometheusLabels } from './prometheus-text-writer.js';
import type { CarbonEndpointCounters } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';

/** Exports to each carbonServer, written whole or failed (refused, timed out, cut). */
export function writeCarbonMetrics(w: MetricsSink, endpoints: readonly CarbonEndpointCounters[]): void {
  const name = 'dnsdist_ts_carbon_exports_total';
  w.family(name, 'counter', 'Exports of the statistics to each carbonServer, by result (sent whole, or failed)');
  for (const e of endpoints) {
    w.sample(name, e.sent, [
      ['carbon_server', e.addressText],
      ['result', 'sent'],
    ]);
    w.sample(name, e.failed, [
      ['carbon_server', e.addressText],
      ['result', 'failed'],
    ]);
  }
}

/** What the scrape measured about itself and its helpers. */
export interface ScrapeSelfStats {
  /** Seconds the previous scrape took to render. */
  readonly lastScrapeSeconds: number;
  /** Seconds of the longest stretch the previous scrape held the event loop. */
  readonly lastLongestSliceSeconds: number;
  /** Providers that threw during this scrape, by name. */
  readonly providerErrors: ReadonlyMap<string, number>;
  /** Webserver connections ended without a normal answer, by reason. */
  readonly webserverClosures?: ReadonlyMap<string, number> | undefined;
}

/**
 * Write every `dnsdist_ts_` family but the per-entry kernel hits (the
 * families appear even when no provider is configured). `kernel` holds the
 * totals of the walk that wrote the per-entry family (kernel-block-hits.ts).
 */
export function writeDnsdistTsMetrics(
  w: MetricsSink,
  providers: ObservabilityProviders,
  self: ScrapeSelfStats,
  kernel: readonly KindActionTotals[],
): void {
  w.family('dnsdist_ts_info', 'gauge', 'dnsdist-ts version, and the dnsdist release whose behaviour it follows; value is always 1');
  w.sample('dnsdist_ts_info', 1, [
    ['version', VERSION],
    ['dnsdist_compatible', COMPATIBLE_DNSDIST_VERSION],
  ]);
  writeActiveBlocks(w, providers, self);
  writeEngineStats(
    w,
    guard(self, 'dynblock-engine', () => providers.engineStats()),
  );
  writeKernelTotals(w, kernel);
  writeXdpStats(
    w,
    guard(self, 'xdp-stats', () => providers.xdpStats?.xdpStats()),
  );
  writeFleetStats(
    w,
    guard(self, 'fleet', () => providers.fleet?.stats()),
  );
  writeCrowdSecStats(
    w,
    guard(self, 'crowdsec', () => providers.crowdsec?.stats()),
  );
  const watcher = guard(self, 'crowdsec-watcher', () => providers.crowdsecWatcher?.stats());
  if (watcher?.configured) {
    w.family('dnsdist_ts_crowdsec_alerts_sent_total', 'counter', "This node's blocks reported to the CrowdSec Local API as alerts");
    w.sample('dnsdist_ts_crowdsec_alerts_sent_total', watcher.sent);
    w.family(
      'dnsdist_ts_crowdsec_alerts_dropped_total',
      'counter',
      'Alerts dropped because the queue for an unreachable Local API was full',
    );
    w.sample('dnsdist_ts_crowdsec_alerts_dropped_total', watcher.dropped);
    w.family('dnsdist_ts_crowdsec_alerts_queued', 'gauge', 'Alerts waiting to be sent to the CrowdSec Local API');
    w.sample('dnsdist_ts_crowdsec_alerts_queued', watcher.queued);
  }
  w.family('dnsdist_ts_scrape_duration_seconds', 'gauge', 'Time the previous scrape of /metrics took to render');
  w.sample('dnsdist_ts_scrape_duration_seconds', self.lastScrapeSeconds);
  w.family(
    'dnsdist_ts_scrape_longest_slice_seconds',
    'gauge',
    'Longest time the previous scrape of /metrics held the event loop (queries wait at most this long for it)',
  );
  w.sample('dnsdist_ts_scrape_longest_slice_seconds', self.lastLongestSliceSeconds);
  w.family(
    'dnsdist_ts_provider_errors_total',
    'counter',
    'Scrapes in which a data source (dynamic-block engine, kernel maps, XDP stats) failed and was left out',
  );
  for (const [name, n] of self.providerErrors) w.sample('dnsdist_ts_provider_errors_total', n, [['provider', name]]);
  w.family(
    'dnsdist_ts_webserver_closed_connections_total',
    'counter',
    'Webserver connections ended without a normal answer (deadlines, body bounds, aborted or malformed requests, handler errors, refusals at accept), by reason',
  );
  for (const [reason, n] of self.webserverClosures ?? [])
    w.sample('dnsdist_ts_webserver_closed_connections_total', n, [['reason', reason]]);
}

/** Fleet sync's families, written only when the node is in a fleet. */
function writeFleetStats(w: MetricsSink, s: FleetStatsSnapshot | undefined): void {
  if (!s?.configured) return;
  const one = (name: string, type: 'gauge' | 'counter', help: string, value: number): void => {
    w.family(name, type, help);
    w.sample(name, value);
  };
  one(
    'dnsdist_ts_fleet_connected',
    'gauge',
    'Whether this node is connected to the fleet bus (setDynBlocksSync): 1 or 0',
    s.connected ? 1 : 0,
  );
  one('dnsdist_ts_fleet_published_total', 'counter', 'Blocks made here and published to the fleet (new or extended)', s.published);
  one(
    'dnsdist_ts_fleet_publish_deferred_total',
    'counter',
    'Publications not made at once (bus disconnected or a Redis error); the blocks are published again on reconnection',
    s.publishFailures,
  );
  one('dnsdist_ts_fleet_received_total', 'counter', 'Blocks from other fleet nodes inserted or extended here', s.received);
  one('dnsdist_ts_fleet_removals_received_total', 'counter', 'Removals and clears from other fleet nodes applied here', s.removalsReceived);
  w.family('dnsdist_ts_fleet_refused_total', 'counter', 'Blocks and events from the fleet bus refused, by reason');
  for (const [reason, n] of s.refused) w.sample('dnsdist_ts_fleet_refused_total', n, [['reason', reason]]);
  one('dnsdist_ts_fleet_resyncs_total', 'counter', "Full reads of the fleet's live blocks (one per connection)", s.resyncs);
  one(
    'dnsdist_ts_fleet_disconnects_total',
    'counter',
    'Times the connection to the fleet bus was lost or could not be made',
    s.disconnects,
  );
  one(
    'dnsdist_ts_fleet_lag_seconds',
    'gauge',
    "Time from the last received event's publication (its sender's clock) to its arrival here",
    s.lastLagMs / 1000,
  );
  one('dnsdist_ts_fleet_remote_blocks', 'gauge', 'Active blocks here that other fleet nodes made', s.remoteBlocks);
}

/** The CrowdSec bouncer's families, written only when one is configured. */
function writeCrowdSecStats(w: MetricsSink, s: CrowdSecStatsSnapshot | undefined): void {
  if (!s?.configured) return;
  const one = (name: string, type: 'gauge' | 'counter', help: string, value: number): void => {
    w.family(name, type, help);
    w.sample(name, value);
  };
  one('dnsdist_ts_crowdsec_connected', 'gauge', 'Whether the last poll of the CrowdSec Local API succeeded: 1 or 0', s.connected ? 1 : 0);
  one('dnsdist_ts_crowdsec_decisions_applied_total', 'counter', 'CrowdSec decisions applied as dynamic blocks', s.applied);
  one(
    'dnsdist_ts_crowdsec_decisions_removed_total',
    'counter',
    'Dynamic blocks taken out because CrowdSec deleted their decisions',
    s.removed,
  );
  w.family('dnsdist_ts_crowdsec_decisions_refused_total', 'counter', 'CrowdSec decisions refused, by reason');
  for (const [reason, n] of s.refused) w.sample('dnsdist_ts_crowdsec_decisions_refused_total', n, [['reason', reason]]);
  one('dnsdist_ts_crowdsec_poll_failures_total', 'counter', 'Polls of the CrowdSec Local API that failed', s.pollFailures);
  one(
    'dnsdist_ts_crowdsec_last_poll_timestamp_seconds',
    'gauge',
    'Unix time of the last successful poll of the CrowdSec Local API (0: none yet)',
    s.lastPoll,
  );
  one('dnsdist_ts_crowdsec_active_decisions', 'gauge', 'Addresses and ranges the CrowdSec bouncer holds a live decision for', s.active);
}

/** Run a provider; a throwing one is counted and reads as absent (a scrape must not fail for one source). */
function guard<T>(self: ScrapeSelfStats, name: string, read: () => T): T | undefined {
  try {
    return read();
  } catch {
    (self.providerErrors as Map<string, number>).set(name, (self.providerErrors.get(name) ?? 0) + 1);
    return undefined;
  }
}

function writeActiveBlocks(w: MetricsSink, providers: ObservabilityProviders, self: ScrapeSelfStats): void {
  w.family(
    'dnsdist_ts_dynblocks_active',
    'gauge',
    'Dynamic blocks in force, by kind (netmask or suffix) and enforcement (kernel or userspace only)',
  );
  const c = guard(self, 'dynblock-list', () => providers.activeBlockCounts());
  if (!c) return;
  for (const [kind, enforcement, n] of [
    ['netmask', 'kernel', c.netmaskKernel],
    ['netmask', 'userspace', c.netmaskUserspace],
    ['suffix', 'kernel', c.suffixKernel],
    ['suffix', 'userspace', c.suffixUserspace],
  ] as const) {
    w.sample('dnsdist_ts_dynblocks_active', n, [
      ['kind', kind],
      ['enforcement', enforcement],
    ]);
  }
}

function writeEngineStats(w: MetricsSink, stats: DynBlockEngineStats | undefined): void {
  const counter = (name: string, help: string, value: number | undefined): void => {
    w.family(name, 'counter', help);
    if (value !== undefined) w.sample(name, value);
  };
  counter(
    'dnsdist_ts_dynblock_insertions_total',
    'Dynamic blocks inserted (new, or replacing an expired or warning entry)',
    stats?.insertions,
  );
  counter('dnsdist_ts_dynblock_refreshes_total', 'Dynamic blocks whose expiry was extended', stats?.refreshes);
  counter('dnsdist_ts_dynblock_expiries_total', 'Dynamic blocks removed because they expired', stats?.expiries);
  w.family(
    'dnsdist_ts_dynblock_kernel_insert_failures_total',
    'counter',
    'Dynamic blocks the kernel maps refused (they stay userspace-only), by reason',
  );
  for (const [reason, n] of Object.entries(stats?.kernelInsertFailures ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    w.sample('dnsdist_ts_dynblock_kernel_insert_failures_total', n, [['reason', reason]]);
  }
  w.family(
    'dnsdist_ts_dynblock_time_to_block_seconds',
    'histogram',
    'Time from a client crossing a dynamic-block threshold to its block being enforced',
  );
  const h = stats?.timeToBlock;
  if (h) {
    let cumulative = 0;
    h.bounds.forEach((le, i) => {
      cumulative += h.counts[i] ?? 0;
      w.sample('dnsdist_ts_dynblock_time_to_block_seconds_bucket', cumulative, [['le', String(le)]]);
    });
    cumulative += h.counts[h.bounds.length] ?? 0;
    w.sample('dnsdist_ts_dynblock_time_to_block_seconds_bucket', cumulative, [['le', '+Inf']]);
    w.sample('dnsdist_ts_dynblock_time_to_block_seconds_sum', h.sum);
    w.sample('dnsdist_ts_dynblock_time_to_block_seconds_count', cumulative);
  }
}

function writeKernelTotals(w: MetricsSink, byKindAction: readonly KindActionTotals[]): void {
  const perAction = new Map<string, number>();
  for (const t of byKindAction) perAction.set(t.action, (perAction.get(t.action) ?? 0) + t.hits);
  w.family('dnsdist_ts_kernel_action_hits_total', 'counter', 'Packets matched by kernel block entries, summed per action');
  for (const [action, hits] of [...perAction].sort(([a], [b]) => (a < b ? -1 : 1))) {
    w.sample('dnsdist_ts_kernel_action_hits_total', hits, [['action', action]]);
  }
  w.family('dnsdist_ts_kernel_block_entries', 'gauge', 'Entries in the kernel block maps, by kind and action');
  for (const t of byKindAction) {
    w.sample('dnsdist_ts_kernel_block_entries', t.entries, [
      ['kind', t.kind],
      ['action', t.action],
    ]);
  }
}

function writeXdpStats(w: MetricsSink, stats: XdpStatsSnapshot | undefined): void {
  const family = (name: string, help: string, label: string, values: Readonly<Record<string, number | bigint>> | undefined): void => {
    w.family(name, 'counter', help);
    for (const [k, v] of Object.entries(values ?? {})) {
      const labels: PrometheusLabels = [[label, k]];
      w.sample(name, v, labels);
    }
  };
  family('dnsdist_ts_xdp_packets_total', 'Packets seen by the XDP filter, by verdict', 'verdict', stats?.verdicts);
  family('dnsdist_ts_xdp_parse_failures_total', 'Packets the XDP filter could not parse, by reason', 'reason', stats?.parseFailures);
}
