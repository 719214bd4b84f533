/**
 * How much a webserver client may send and how long it may take. The
 * webserver is reachable by every address its ACL allows, before any
 * credential is checked, and shares the process with DNS: a client must
 * not be able to make it hold memory, connection slots or the event loop
 * for longer than these bounds. docs/observability.md lists them.
 */

/** The largest request body any route takes (the allow-from ACL document). */
export const MAX_REQUEST_BODY = 1024 * 1024;

/**
 * Routes that take no body (every GET, the dashboard files, `/metrics`,
 * DELETE on the block API): a few stray bytes are tolerated and ignored,
 * anything larger is refused.
 */
export const NO_BODY_LIMIT = 1024;

/** One block API document (`{"kind": …, "target": …, "reason": …}`): the reason is free text, so room for a paragraph. */
export const BLOCK_API_BODY_LIMIT = 16 * 1024;

/** PUT on allow-from: a whole ACL (tens of thousands of ranges). */
export const ACL_BODY_LIMIT = MAX_REQUEST_BODY;

/**
 * registerWebHandler's handlers see `req.body` (dnsdist hands a GET's body
 * over too); 64 KiB is far beyond what a query-driven handler reads.
 */
export const CUSTOM_HANDLER_BODY_LIMIT = 64 * 1024;

/** From accepting a connection to its request line and headers being complete. */
export const DEFAULT_HEADER_DEADLINE_MS = 10_000;

/** From the headers being complete to the body being complete. */
export const DEFAULT_BODY_DEADLINE_MS = 10_000;

/**
 * While a response is written: a client that takes no bytes of it for
 * this long is closed, freeing the body it holds (an 8.5 MB `/metrics`
 * buffer) and its slot. Prometheus's default scrape timeout is 10 s.
 */
export const DEFAULT_SEND_STALL_MS = 10_000;

/**
 * After answering a request whose body was not read (401, 405, 404, 413,
 * 408), the connection stays open this long, unread, so the client gets to
 * read the answer before the close; closing a socket with unread input
 * resets it, and the reset can overtake the answer. A client that reads
 * the answer closes first.
 */
export const UNREAD_BODY_LINGER_MS = 2_000;

/**
 * node:http's own deadlines, kept as a backstop only: node checks them on a
 * 30-second interval, so a slow client is closed up to 30 seconds late (a
 * 2-second headersTimeout closed a header trickle after 30 s). The
 * webserver's own timers enforce the deadlines above.
 */
export const NODE_HEADERS_TIMEOUT_MS = 60_000;
export const NODE_REQUEST_TIMEOUT_MS = 120_000;
