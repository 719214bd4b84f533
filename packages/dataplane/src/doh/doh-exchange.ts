import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { ReplyChannel } from '../backend/inflight-query.js';
import type { DNSQuestion } from '../query/dns-question.js';
import type { HttpQueryInfo } from '../query/http-query-info.js';

/** The response side of a request, HTTP/1 or HTTP/2 (Node's compatibility API). */
export type DohResponse = ServerResponse | Http2ServerResponse;

/** Where an exchange sends what it has to say (the frontend). */
export interface DohResponder {
  /** A DNS answer for the client (200, or the HTTP response a rule set). */
  answer(ex: DohExchange, data: Buffer, length: number): void;
  /** No DNS answer: dropped (403), invalid (400), or lost on the way to the backend (502). */
  fail(ex: DohExchange, status: number, text: string): void;
}

/**
 * One DoH request on its way through the query path: dnsdist's DOHUnit.
 * It is the query's reply channel and its HTTP view for rules and Lua.
 */
export class DohExchange implements ReplyChannel, HttpQueryInfo {
  readonly path: string;
  readonly queryString: string;
  readonly host: string;
  readonly scheme: string;
  readonly overTls: boolean;
  readonly httpVersion: 1 | 2;
  readonly res: DohResponse;
  retriedOverTcp = false;
  /** An HTTP response set by a rule or Lua (HTTPStatusAction, dq:setHTTPResponse). */
  httpResponse: { status: number; body: Buffer; contentType: string } | undefined;
  /** Set before the query path sees a query it will refuse (QR set): the status it then gets. */
  refusal: { status: number; text: string } | undefined;
  /** The response was sent, or the client went away: nothing more is written. */
  done = false;
  readonly #rawHeaders: IncomingHttpHeaders;
  #headers: Map<string, string> | undefined;
  readonly #responder: DohResponder;

  constructor(
    responder: DohResponder,
    res: DohResponse,
    target: { path: string; queryString: string },
    host: string,
    overTls: boolean,
    httpVersion: 1 | 2,
    headers: IncomingHttpHeaders,
  ) {
    this.#responder = responder;
    this.res = res;
    this.path = target.path;
    this.queryString = target.queryString;
    this.host = host;
    this.overTls = overTls;
    this.scheme = overTls ? 'https' : 'http';
    this.httpVersion = httpVersion;
    this.#rawHeaders = headers;
  }

  /** Names lower-cased (as both HTTP versions deliver them); pseudo-headers and Host left out. */
  get headers(): ReadonlyMap<string, string> {
    if (this.#headers === undefined) {
      const m = new Map<string, string>();
      for (const [k, v] of Object.entries(this.#rawHeaders)) {
        if (k.startsWith(':') || k === 'host' || v === undefined) continue;
        m.set(k, Array.isArray(v) ? v.join(', ') : v);
      }
      this.#headers = m;
    }
    return this.#headers;
  }

  setResponse(status: number, body: Buffer, contentType: string): void {
    this.httpResponse = { status, body, contentType };
  }

  sendAnswer(_dq: DNSQuestion, data: Buffer, length: number): void {
    this.#responder.answer(this, data, length);
  }

  abandon(_dq: DNSQuestion, lost?: boolean): void {
    if (lost) this.#responder.fail(this, 502, 'no downstream server available');
    else if (this.refusal) this.#responder.fail(this, this.refusal.status, this.refusal.text);
    else this.#responder.fail(this, 403, 'dns query not allowed');
  }
}
