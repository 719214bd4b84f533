import { CellSet } from '../stats/counter-cells.js';

/** One HTTP version's counters, in cells (shared live with data-plane workers: stats/counter-cells.ts). */
const HTTP_VERSION_CELLS = new CellSet({
  queries: 'counter',
  status200: 'counter',
  status400: 'counter',
  status403: 'counter',
  status500: 'counter',
  status502: 'counter',
  statusOther: 'counter',
});

/** A DoH frontend's own counters, in cells like them. */
const DOH_CELLS = new CellSet({
  queries: 'counter',
  responses: 'counter',
  nonCompliantQueries: 'counter',
  httpConnects: 'counter',
  currentConnections: 'gauge',
  maxConcurrentConnections: 'max',
  getQueries: 'counter',
  postQueries: 'counter',
  badRequests: 'counter',
  validResponses: 'counter',
  redirectResponses: 'counter',
  errorResponses: 'counter',
  tlsNewSessions: 'counter',
  tlsResumptions: 'counter',
  tls10Queries: 'counter',
  tls11Queries: 'counter',
  tls12Queries: 'counter',
  tls13Queries: 'counter',
  tlsUnknownQueries: 'counter',
  tlsHandshakeFailures: 'counter',
});

/** Responses by HTTP status for one HTTP version (dnsdist's HTTPVersionStats). */
export class HttpVersionCounters {
  declare queries: number;
  declare status200: number;
  declare status400: number;
  declare status403: number;
  declare status500: number;
  declare status502: number;
  declare statusOther: number;

  constructor() {
    HTTP_VERSION_CELLS.install(this);
  }

  count(status: number): void {
    switch (status) {
      case 200:
        this.status200++;
        break;
      case 400:
        this.status400++;
        break;
      case 403:
        this.status403++;
        break;
      case 500:
        this.status500++;
        break;
      case 502:
        this.status502++;
        break;
      default:
        this.statusOther++;
    }
  }
}

/**
 * One DoH frontend's counters, named as dnsdist's DOHFrontend and its
 * ClientState name them (showDOHFrontends, the API's dohFrontends, the
 * dnsdist_frontend_* metrics).
 */
export class DohCounters {
  /** DNS queries handed to the query path, and answers sent (the frontend's queries/responses). */
  declare queries: number;
  declare responses: number;
  declare nonCompliantQueries: number;
  /** TCP connections accepted. */
  declare httpConnects: number;
  declare currentConnections: number;
  declare maxConcurrentConnections: number;
  declare getQueries: number;
  declare postQueries: number;
  /** Requests that could not be turned into a DNS query. */
  declare badRequests: number;
  /** Answers by kind: a DNS answer (200), a redirect (3xx), anything else. */
  declare validResponses: number;
  declare redirectResponses: number;
  declare errorResponses: number;
  readonly http1 = new HttpVersionCounters();
  readonly http2 = new HttpVersionCounters();
  declare tlsNewSessions: number;
  declare tlsResumptions: number;
  declare tls10Queries: number;
  declare tls11Queries: number;
  declare tls12Queries: number;
  declare tls13Queries: number;
  declare tlsUnknownQueries: number;
  declare tlsHandshakeFailures: number;

  constructor() {
    DOH_CELLS.install(this);
  }

  /** Count a request's TLS version as dnsdist does (per DoH request, not per connection). */
  countTlsVersion(version: string | null | undefined): void {
    switch (version) {
      case 'TLSv1':
        this.tls10Queries++;
        break;
      case 'TLSv1.1':
        this.tls11Queries++;
        break;
      case 'TLSv1.2':
        this.tls12Queries++;
        break;
      case 'TLSv1.3':
        this.tls13Queries++;
        break;
      default:
        this.tlsUnknownQueries++;
    }
  }
}
