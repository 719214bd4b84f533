/**
 * What a query that came over DNS over HTTPS carries besides the DNS
 * message: the HTTP request's parts (for HTTPPathRule, HTTPHeaderRule and
 * the `dq:getHTTP*` accessors) and a way to answer with an HTTP response of
 * one's own instead of a DNS message (HTTPStatusAction, `dq:setHTTPResponse`).
 * Implemented by the DoH layer; the query path only reads it.
 */
export interface HttpQueryInfo {
  /** The path without the query string: "/dns-query". */
  readonly path: string;
  /** The query string with its "?", or "" when there is none (as dnsdist hands it out). */
  readonly queryString: string;
  /** The :authority (HTTP/2) or Host header (HTTP/1): "doh.example:443". */
  readonly host: string;
  /** "https", or "http" on a frontend without TLS. */
  readonly scheme: string;
  /** The request's headers, names lower-cased, pseudo-headers left out. */
  readonly headers: ReadonlyMap<string, string>;
  /** Answer with this HTTP response instead of the DNS answer. */
  setResponse(status: number, body: Buffer, contentType: string): void;
  /** Whether the frontend serves TLS (for the protocol name). */
  readonly overTls: boolean;
  /** Set by the query path once a truncated UDP answer made it ask the backend again over TCP. */
  retriedOverTcp: boolean;
}
