/**
 * Connections the webserver ended without a normal answer, by reason:
 * `dnsdist_ts_webserver_closed_connections_total{reason}`. Kept by the web
 * service, so the counts survive the webserver being restarted on another
 * address.
 */

/** Why a connection ended without a normal answer. */
export type WebCloseReason =
  /** The request line and headers did not arrive within the header deadline. */
  | 'header_timeout'
  /** The body did not arrive within the body deadline (408). */
  | 'body_timeout'
  /** The body was over the route's bound (413). */
  | 'body_too_large'
  /** The client closed or reset the connection before its request was complete. */
  | 'client_aborted'
  /** The client took no bytes of the response for the send deadline (sendStallMs). */
  | 'send_timeout'
  /** Not HTTP, an unusable request target, or headers over node's 16 KiB (400/431). */
  | 'malformed_request'
  /** A handler threw, or left a response HTTP cannot carry (500). */
  | 'handler_error'
  /** Over maxConcurrentConnections: closed at accept. */
  | 'connection_limit'
  /** From an address outside the webserver's ACL: closed at accept. */
  | 'not_allowed';

export const WEB_CLOSE_REASONS: readonly WebCloseReason[] = [
  'header_timeout',
  'body_timeout',
  'body_too_large',
  'client_aborted',
  'malformed_request',
  'handler_error',
  'connection_limit',
  'not_allowed',
  'send_timeout',
];

export class WebserverClosures {
  readonly #counts = new Map<WebCloseReason, number>(WEB_CLOSE_REASONS.map((r) => [r, 0]));

  count(reason: WebCloseReason): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
  }

  /** Every reason, zero included, in WEB_CLOSE_REASONS order. */
  get counts(): ReadonlyMap<WebCloseReason, number> {
    return this.#counts;
  }
}
