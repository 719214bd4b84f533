/**
 * When a client TCP connection's reading stops. The kernel's receive buffer
 * and the client's own then hold what it sends next, so a client can never
 * make the proxy buffer without bound.
 */

/**
 * Bytes of a connection's next queries buffered, at most, while its
 * in-flight limit is reached: one largest query and its length prefix.
 */
export const READ_AHEAD_BYTES = 65_537;

/**
 * Whether to stop reading a connection. Below the read-ahead, a pipelining
 * client's next queries are read while the current one is answered:
 * pausing and resuming the socket around every query costs an epoll change
 * each way. Plain arguments, not an object: it runs once per query.
 *
 * @param transfer - a zone transfer runs on it (dnsdist takes no other query on such a connection)
 * @param answersUnread - the client leaves its answers unread (the write queue is over its high-water mark)
 * @param inFlight - its queries being answered now
 * @param limit - how many may be at once (1: one at a time, dnsdist's default)
 * @param buffered - bytes read and not yet handed to the query path
 */
export function tcpReadShouldPause(transfer: boolean, answersUnread: boolean, inFlight: number, limit: number, buffered: number): boolean {
  return transfer || answersUnread || (inFlight >= limit && buffered >= READ_AHEAD_BYTES);
}
