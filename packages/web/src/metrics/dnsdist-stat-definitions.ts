/**
 * dnsdist 1.7.3's general statistics in its own order (the order of its
 * `g_stats.entries`, which `/metrics` and `/api/v1/servers/localhost/statistics`
 * follow), with the Prometheus type and HELP text dnsdist gives each one.
 * The texts are dnsdist's, so that existing dashboards and alert
 * descriptions keep matching.
 */
import type { PrometheusType } from './prometheus-text-writer.js';

/** One general statistic. */
export interface DnsdistStatDefinition {
  /** dnsdist's name ("acl-drops"); the metric is `dnsdist_` + the name with '-' → '_'. */
  readonly name: string;
  readonly type: Extract<PrometheusType, 'counter' | 'gauge'>;
  readonly help: string;
}

export const DNSDIST_STATS: readonly DnsdistStatDefinition[] = [
  { name: 'responses', type: 'counter', help: 'Number of responses received from backends' },
  { name: 'servfail-responses', type: 'counter', help: 'Number of SERVFAIL answers received from backends' },
  { name: 'queries', type: 'counter', help: 'Number of received queries' },
  { name: 'frontend-nxdomain', type: 'counter', help: 'Number of NXDomain answers sent to clients' },
  { name: 'frontend-servfail', type: 'counter', help: 'Number of SERVFAIL answers sent to clients' },
  { name: 'frontend-noerror', type: 'counter', help: 'Number of NoError answers sent to clients' },
  { name: 'acl-drops', type: 'counter', help: 'Number of packets dropped because of the ACL' },
  { name: 'rule-drop', type: 'counter', help: 'Number of queries dropped because of a rule' },
  { name: 'rule-nxdomain', type: 'counter', help: 'Number of NXDomain answers returned because of a rule' },
  { name: 'rule-refused', type: 'counter', help: 'Number of Refused answers returned because of a rule' },
  { name: 'rule-servfail', type: 'counter', help: 'Number of SERVFAIL answers received because of a rule' },
  { name: 'rule-truncated', type: 'counter', help: 'Number of truncated answers returned because of a rule' },
  { name: 'self-answered', type: 'counter', help: 'Number of self-answered responses' },
  { name: 'downstream-timeouts', type: 'counter', help: 'Number of queries not answered in time by a backend' },
  { name: 'downstream-send-errors', type: 'counter', help: 'Number of errors when sending a query to a backend' },
  { name: 'trunc-failures', type: 'counter', help: 'Number of errors encountered while truncating an answer' },
  { name: 'no-policy', type: 'counter', help: 'Number of queries dropped because no server was available' },
  { name: 'latency0-1', type: 'counter', help: 'Number of queries answered in less than 1ms' },
  { name: 'latency1-10', type: 'counter', help: 'Number of queries answered in 1-10 ms' },
  { name: 'latency10-50', type: 'counter', help: 'Number of queries answered in 10-50 ms' },
  { name: 'latency50-100', type: 'counter', help: 'Number of queries answered in 50-100 ms' },
  { name: 'latency100-1000', type: 'counter', help: 'Number of queries answered in 100-1000 ms' },
  { name: 'latency-slow', type: 'counter', help: 'Number of queries answered in more than 1 second' },
  { name: 'latency-avg100', type: 'gauge', help: 'Average response latency in microseconds of the last 100 packets' },
  { name: 'latency-avg1000', type: 'gauge', help: 'Average response latency in microseconds of the last 1000 packets' },
  { name: 'latency-avg10000', type: 'gauge', help: 'Average response latency in microseconds of the last 10000 packets' },
  { name: 'latency-avg1000000', type: 'gauge', help: 'Average response latency in microseconds of the last 1000000 packets' },
  { name: 'uptime', type: 'gauge', help: 'Uptime of the dnsdist process in seconds' },
  { name: 'real-memory-usage', type: 'gauge', help: 'Current memory usage in bytes' },
  { name: 'udp-in-errors', type: 'counter', help: 'From /proc/net/snmp InErrors' },
  { name: 'udp-noport-errors', type: 'counter', help: 'From /proc/net/snmp NoPorts' },
  { name: 'udp-recvbuf-errors', type: 'counter', help: 'From /proc/net/snmp RcvbufErrors' },
  { name: 'udp-sndbuf-errors', type: 'counter', help: 'From /proc/net/snmp SndbufErrors' },
  { name: 'udp-in-csum-errors', type: 'counter', help: 'From /proc/net/snmp InCsumErrors' },
  { name: 'udp6-in-errors', type: 'counter', help: 'From /proc/net/snmp6 Udp6InErrors' },
  { name: 'udp6-recvbuf-errors', type: 'counter', help: 'From /proc/net/snmp6 Udp6RcvbufErrors' },
  { name: 'udp6-sndbuf-errors', type: 'counter', help: 'From /proc/net/snmp6 Udp6SndbufErrors' },
  { name: 'udp6-noport-errors', type: 'counter', help: 'From /proc/net/snmp6 Udp6NoPorts' },
  { name: 'udp6-in-csum-errors', type: 'counter', help: 'From /proc/net/snmp6 Udp6InCsumErrors' },
  { name: 'tcp-listen-overflows', type: 'counter', help: 'From /proc/net/netstat ListenOverflows' },
  { name: 'noncompliant-queries', type: 'counter', help: 'Number of queries dropped as non-compliant' },
  { name: 'noncompliant-responses', type: 'counter', help: 'Number of answers from a backend dropped as non-compliant' },
  { name: 'proxy-protocol-invalid', type: 'counter', help: 'Number of queries dropped because of an invalid Proxy Protocol header' },
  { name: 'rdqueries', type: 'counter', help: 'Number of received queries with the recursion desired bit set' },
  { name: 'empty-queries', type: 'counter', help: 'Number of empty queries received from clients' },
  { name: 'cache-hits', type: 'counter', help: 'Number of times an answer was retrieved from cache' },
  { name: 'cache-misses', type: 'counter', help: 'Number of times an answer not found in the cache' },
  { name: 'cpu-iowait', type: 'counter', help: 'Time waiting for I/O to complete by the whole system, in units of USER_HZ' },
  {
    name: 'cpu-steal',
    type: 'counter',
    help: 'Stolen time, which is the time spent by the whole system in other operating systems when running in a virtualized environment, in units of USER_HZ',
  },
  { name: 'cpu-sys-msec', type: 'counter', help: 'Milliseconds spent by dnsdist in the system state' },
  { name: 'cpu-user-msec', type: 'counter', help: 'Milliseconds spent by dnsdist in the user state' },
  { name: 'fd-usage', type: 'gauge', help: 'Number of currently used file descriptors' },
  { name: 'dyn-blocked', type: 'counter', help: 'Number of queries dropped because of a dynamic block' },
  { name: 'dyn-block-nmg-size', type: 'gauge', help: 'Number of dynamic blocks entries' },
  {
    name: 'security-status',
    type: 'gauge',
    help: 'Security status of this software. 0=unknown, 1=OK, 2=upgrade recommended, 3=upgrade mandatory',
  },
  {
    name: 'doh-query-pipe-full',
    type: 'counter',
    help: 'Number of DoH queries dropped because the internal pipe used to distribute queries was full',
  },
  {
    name: 'doh-response-pipe-full',
    type: 'counter',
    help: 'Number of DoH responses dropped because the internal pipe used to distribute responses was full',
  },
  {
    name: 'outgoing-doh-query-pipe-full',
    type: 'counter',
    help: 'Number of outgoing DoH queries dropped because the internal pipe used to distribute queries was full',
  },
  {
    name: 'tcp-query-pipe-full',
    type: 'counter',
    help: 'Number of TCP queries dropped because the internal pipe used to distribute queries was full',
  },
  {
    name: 'tcp-cross-protocol-query-pipe-full',
    type: 'counter',
    help: 'Number of TCP cross-protocol queries dropped because the internal pipe used to distribute queries was full',
  },
  {
    name: 'tcp-cross-protocol-response-pipe-full',
    type: 'counter',
    help: 'Number of TCP cross-protocol responses dropped because the internal pipe used to distribute queries was full',
  },
];

/**
 * The statistics after the general ones in dnsdist's list: part of the
 * JSON endpoints, but left out of `/metrics`, where the latency histogram's
 * `_sum` and `_count` carry them.
 */
export const DNSDIST_JSON_ONLY_STATS: readonly string[] = ['latency-sum', 'latency-count'];

/** `dnsdist_` + the stat name with dashes as underscores. */
export function prometheusStatName(name: string): string {
  return `dnsdist_${name.replace(/-/g, '_')}`;
}
