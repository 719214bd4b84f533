/**
 * One HTTP request and its response as the webserver's handlers (built-in
 * and Lua's registerWebHandler) see them: dnsdist's WebRequest and
 * WebResponse.
 */

/** A parsed request. Header names are lower-case. */
export interface WebRequest {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  /** Query-string parameters (the last value wins for repeated names). */
  readonly getvars: ReadonlyMap<string, string>;
  /** Form fields of an application/x-www-form-urlencoded body. */
  readonly postvars: ReadonlyMap<string, string>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** HTTP version as dnsdist gives it: 11 for HTTP/1.1, 10 for HTTP/1.0. */
  readonly version: number;
  /** The client, "ip:port" ("[v6]:port"). */
  readonly remote: string;
}

/** The response a handler fills in. */
export interface WebResponse {
  status: number;
  /** Text, or bytes sent as they are (large documents such as /metrics). */
  body: string | Buffer;
  /** Response headers; the webserver's defaults are already in (handlers may replace the whole table). */
  headers: Record<string, string>;
  /** Called once the body has been written out or the connection closed (a body in a buffer that is reused, as /metrics's). */
  release?: () => void;
}

/** A route's code. */
export type WebHandler = (req: WebRequest, res: WebResponse) => void | Promise<void>;
