import type { ProxyCounters } from './proxy-counters.js';
import { readSystemMetrics } from './system-metrics.js';

/** One named statistic with dnsdist's name and kind. */
export interface StatEntry {
  /** dnsdist's name, e.g. "acl-drops". */
  name: string;
  kind: 'counter' | 'gauge';
  value: number;
  /** Shown with one decimal (dnsdist's double-valued stats). */
  isFloat: boolean;
}

/** What the snapshot needs besides the counters. */
export interface StatsSources {
  counters: ProxyCounters;
  /** Process start, ms since the epoch. */
  startedAt: number;
  /** Entries in the dynamic-block address tree, expired-but-unpurged included. */
  dynBlockNmgSize: () => number;
}

/**
 * All of dnsdist 1.7.3's general statistics (the ones `dumpStats()` shows),
 * sorted by name. Computed on demand: cold path.
 */
export function statsSnapshot(src: StatsSources): StatEntry[] {
  const c = src.counters;
  const sys = readSystemMetrics();
  const counter = (name: string, value: number): StatEntry => ({ name, kind: 'counter', value, isFloat: false });
  const gauge = (name: string, value: number, isFloat = false): StatEntry => ({ name, kind: 'gauge', value, isFloat });
  const entries: StatEntry[] = [
    counter('acl-drops', c.aclDrops),
    counter('cache-hits', c.cacheHits),
    counter('cache-misses', c.cacheMisses),
    counter('cpu-iowait', sys.cpuIowait),
    counter('cpu-steal', sys.cpuSteal),
    counter('cpu-sys-msec', sys.cpuSysMsec),
    counter('cpu-user-msec', sys.cpuUserMsec),
    counter('doh-query-pipe-full', 0),
    counter('doh-response-pipe-full', 0),
    counter('downstream-send-errors', c.downstreamSendErrors),
    counter('downstream-timeouts', c.downstreamTimeouts),
    gauge('dyn-block-nmg-size', src.dynBlockNmgSize()),
    counter('dyn-blocked', c.dynBlocked),
    counter('empty-queries', c.emptyQueries),
    gauge('fd-usage', sys.fdUsage),
    counter('frontend-noerror', c.frontendNoError),
    counter('frontend-nxdomain', c.frontendNXDomain),
    counter('frontend-servfail', c.frontendServFail),
    gauge('latency-avg100', c.latencyAvg100, true),
    gauge('latency-avg1000', c.latencyAvg1000, true),
    gauge('latency-avg10000', c.latencyAvg10000, true),
    gauge('latency-avg1000000', c.latencyAvg1000000, true),
    counter('latency-count', c.latencyCount),
    counter('latency-slow', c.latencySlow),
    counter('latency-sum', Math.round(c.latencySumMs)),
    counter('latency0-1', c.latency0to1),
    counter('latency1-10', c.latency1to10),
    counter('latency10-50', c.latency10to50),
    counter('latency100-1000', c.latency100to1000),
    counter('latency50-100', c.latency50to100),
    counter('no-policy', c.noPolicy),
    counter('noncompliant-queries', c.nonCompliantQueries),
    counter('noncompliant-responses', c.nonCompliantResponses),
    counter('outgoing-doh-query-pipe-full', 0),
    counter('proxy-protocol-invalid', c.proxyProtocolInvalid),
    counter('queries', c.queries),
    counter('rdqueries', c.rdQueries),
    gauge('real-memory-usage', sys.realMemoryUsage),
    counter('responses', c.responses),
    counter('rule-drop', c.ruleDrop),
    counter('rule-nxdomain', c.ruleNXDomain),
    counter('rule-refused', c.ruleRefused),
    counter('rule-servfail', c.ruleServFail),
    counter('rule-truncated', c.ruleTruncated),
    gauge('security-status', 0),
    counter('self-answered', c.selfAnswered),
    counter('servfail-responses', c.servfailResponses),
    gauge('special-memory-usage', process.memoryUsage().heapUsed),
    counter('tcp-cross-protocol-query-pipe-full', 0),
    counter('tcp-cross-protocol-response-pipe-full', 0),
    counter('tcp-listen-overflows', sys.tcpListenOverflows),
    counter('tcp-query-pipe-full', 0),
    counter('trunc-failures', c.truncFail),
    counter('udp-in-csum-errors', sys.udpInCsumErrors),
    counter('udp-in-errors', sys.udpInErrors),
    counter('udp-noport-errors', sys.udpNoPortErrors),
    counter('udp-recvbuf-errors', sys.udpRecvbufErrors),
    counter('udp-sndbuf-errors', sys.udpSndbufErrors),
    counter('udp6-in-csum-errors', sys.udp6InCsumErrors),
    counter('udp6-in-errors', sys.udp6InErrors),
    counter('udp6-noport-errors', sys.udp6NoPortErrors),
    counter('udp6-recvbuf-errors', sys.udp6RecvbufErrors),
    counter('udp6-sndbuf-errors', sys.udp6SndbufErrors),
    gauge('uptime', Math.floor((Date.now() - src.startedAt) / 1000)),
  ];
  return entries;
}

function cell(e: StatEntry): string {
  const name = e.name.length < 35 ? e.name.padEnd(35) : e.name;
  return e.isFloat ? `${name}\t${e.value.toFixed(1).padStart(13)}` : `${name}\t${String(e.value).padStart(11)}`;
}

/** dumpStats()'s two-column layout: first half on the left, second half on the right. */
export function formatDumpStats(entries: StatEntry[]): string {
  const half = Math.ceil(entries.length / 2);
  const lines: string[] = [];
  for (let i = 0; i < half; i++) {
    const left = entries[i]!;
    const right = entries[i + half];
    const l = cell(left);
    lines.push(right ? `${l}${left.isFloat ? '  ' : '    '}${cell(right)}` : l);
  }
  return `${lines.join('\n')}\n`;
}
