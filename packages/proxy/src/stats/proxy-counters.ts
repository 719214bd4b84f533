/**
 * The proxy's global counters (dnsdist's `g_stats`), as plain numbers: the
 * query path increments fields directly (a few ns), and everything that
 * shows them (dumpStats, the API, Prometheus) reads them when asked.
 */
export class ProxyCounters {
  queries = 0;
  rdQueries = 0;
  emptyQueries = 0;
  responses = 0;
  servfailResponses = 0;
  aclDrops = 0;
  ruleDrop = 0;
  ruleNXDomain = 0;
  ruleRefused = 0;
  ruleServFail = 0;
  ruleTruncated = 0;
  selfAnswered = 0;
  downstreamTimeouts = 0;
  downstreamSendErrors = 0;
  truncFail = 0;
  noPolicy = 0;
  cacheHits = 0;
  cacheMisses = 0;
  dynBlocked = 0;
  nonCompliantQueries = 0;
  nonCompliantResponses = 0;
  frontendNoError = 0;
  frontendNXDomain = 0;
  frontendServFail = 0;
  proxyProtocolInvalid = 0;
  /** Latency histogram buckets, in ms: [0,1), [1,10), [10,50), [50,100), [100,1000), slow. */
  latency0to1 = 0;
  latency1to10 = 0;
  latency10to50 = 0;
  latency50to100 = 0;
  latency100to1000 = 0;
  latencySlow = 0;
  latencySumMs = 0;
  latencyCount = 0;
  /** Moving averages of the answer latency in µs over ~100, 1000, 10000 and 1000000 answers. */
  latencyAvg100 = 0;
  latencyAvg1000 = 0;
  latencyAvg10000 = 0;
  latencyAvg1000000 = 0;

  /** Account one answer sent to a client after `usec` µs, as dnsdist's doLatencyStats does. */
  recordLatency(usec: number): void {
    if (usec < 1000) this.latency0to1++;
    else if (usec < 10000) this.latency1to10++;
    else if (usec < 50000) this.latency10to50++;
    else if (usec < 100000) this.latency50to100++;
    else if (usec < 1000000) this.latency100to1000++;
    else this.latencySlow++;
    this.latencySumMs += usec / 1000;
    this.latencyCount++;
    this.latencyAvg100 = (99 * this.latencyAvg100 + usec) / 100;
    this.latencyAvg1000 = (999 * this.latencyAvg1000 + usec) / 1000;
    this.latencyAvg10000 = (9999 * this.latencyAvg10000 + usec) / 10000;
    this.latencyAvg1000000 = (999999 * this.latencyAvg1000000 + usec) / 1000000;
  }

  /** Count the RCODE of an answer sent to a client (frontend-noerror/nxdomain/servfail). */
  recordFrontendRcode(rcode: number): void {
    if (rcode === 0) this.frontendNoError++;
    else if (rcode === 3) this.frontendNXDomain++;
    else if (rcode === 2) this.frontendServFail++;
  }
}
