/** Responses by HTTP status for one HTTP version (dnsdist's HTTPVersionStats). */
export class HttpVersionCounters {
  queries = 0;
  status200 = 0;
  status400 = 0;
  status403 = 0;
  status500 = 0;
  status502 = 0;
  statusOther = 0;

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
  queries = 0;
  responses = 0;
  nonCompliantQueries = 0;
  /** TCP connections accepted. */
  httpConnects = 0;
  currentConnections = 0;
  maxConcurrentConnections = 0;
  getQueries = 0;
  postQueries = 0;
  /** Requests that could not be turned into a DNS query. */
  badRequests = 0;
  /** Answers by kind: a DNS answer (200), a redirect (3xx), anything else. */
  validResponses = 0;
  redirectResponses = 0;
  errorResponses = 0;
  readonly http1 = new HttpVersionCounters();
  readonly http2 = new HttpVersionCounters();
  tlsNewSessions = 0;
  tlsResumptions = 0;
  tls10Queries = 0;
  tls11Queries = 0;
  tls12Queries = 0;
  tls13Queries = 0;
  tlsUnknownQueries = 0;
  tlsHandshakeFailures = 0;

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
