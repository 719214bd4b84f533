import { CellSet } from './counter-cells.js';

/** The counters' names and how they add up across data-plane workers. */
const CELL_SET = new CellSet({
  queries: 'counter',
  rdQueries: 'counter',
  emptyQueries: 'counter',
  responses: 'counter',
  servfailResponses: 'counter',
  aclDrops: 'counter',
  ruleDrop: 'counter',
  ruleNXDomain: 'counter',
  ruleRefused: 'counter',
  ruleServFail: 'counter',
  ruleTruncated: 'counter',
  selfAnswered: 'counter',
  downstreamTimeouts: 'counter',
  downstreamSendErrors: 'counter',
  truncFail: 'counter',
  noPolicy: 'counter',
  cacheHits: 'counter',
  cacheMisses: 'counter',
  dynBlocked: 'counter',
  nonCompliantQueries: 'counter',
  nonCompliantResponses: 'counter',
  frontendNoError: 'counter',
  frontendNXDomain: 'counter',
  frontendServFail: 'counter',
  proxyProtocolInvalid: 'counter',
  latency0to1: 'counter',
  latency1to10: 'counter',
  latency10to50: 'counter',
  latency50to100: 'counter',
  latency100to1000: 'counter',
  latencySlow: 'counter',
  latencySumMs: 'counter',
  latencyCount: 'counter',
  latencyAvg100: 'mean',
  latencyAvg1000: 'mean',
  latencyAvg10000: 'mean',
  latencyAvg1000000: 'mean',
});

/**
 * The proxy's global counters (dnsdist's `g_stats`), as plain numbers: the
 * query path increments fields directly (a few ns), and everything that
 * shows them (dumpStats, the API, Prometheus) reads them when asked. They
 * live in cells (counter-cells.ts), which data-plane workers share.
 */
export class ProxyCounters {
  declare queries: number;
  declare rdQueries: number;
  declare emptyQueries: number;
  declare responses: number;
  declare servfailResponses: number;
  declare aclDrops: number;
  declare ruleDrop: number;
  declare ruleNXDomain: number;
  declare ruleRefused: number;
  declare ruleServFail: number;
  declare ruleTruncated: number;
  declare selfAnswered: number;
  declare downstreamTimeouts: number;
  declare downstreamSendErrors: number;
  declare truncFail: number;
  declare noPolicy: number;
  declare cacheHits: number;
  declare cacheMisses: number;
  declare dynBlocked: number;
  declare nonCompliantQueries: number;
  declare nonCompliantResponses: number;
  declare frontendNoError: number;
  declare frontendNXDomain: number;
  declare frontendServFail: number;
  declare proxyProtocolInvalid: number;
  /** Latency histogram buckets, in ms: [0,1), [1,10), [10,50), [50,100), [100,1000), slow. */
  declare latency0to1: number;
  declare latency1to10: number;
  declare latency10to50: number;
  declare latency50to100: number;
  declare latency100to1000: number;
  declare latencySlow: number;
  declare latencySumMs: number;
  declare latencyCount: number;
  /** Moving averages of the answer latency in µs over ~100, 1000, 10000 and 1000000 answers. */
  declare latencyAvg100: number;
  declare latencyAvg1000: number;
  declare latencyAvg10000: number;
  declare latencyAvg1000000: number;

  constructor() {
    CELL_SET.install(this);
  }

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
