/**
 * A response body written to the client in pieces, one piece per turn of
 * the event loop and the next only once the socket has taken the last
 * (backpressure): a megabyte body, such as an 8.5 MB `/metrics`, is never
 * handed to the socket in one write whose copy into the kernel holds the
 * loop that answers DNS, and is never queued in user space beyond one
 * piece.
 *
 * A client that stops taking bytes is closed once no piece has been taken
 * for `stallMs`: the body it would otherwise pin (a reused scrape buffer is
 * released on close) and its connection slot are freed.
 */
import type http from 'node:http';

/** Bytes per write: copied into the socket in well under a millisecond. */
export const BODY_PIECE_BYTES = 128 * 1024;

/**
 * Write `body` after the headers already set on `res`, then end the
 * response. `onStall` runs (once) before a stalled response is destroyed.
 */
export function writeResponseBody(res: http.ServerResponse, body: Buffer, stallMs: number, onStall: () => void): void {
  let offset = 0;
  const stalled = (): void => {
    if (res.writableFinished || res.destroyed) return;
    onStall();
    res.destroy();
  };
  const timer = setTimeout(stalled, stallMs);
  const settled = (): void => clearTimeout(timer);
  res.once('finish', settled);
  res.once('close', settled);
  const pump = (): void => {
    if (res.destroyed) return;
    // The socket took the previous piece: progress.
    timer.refresh();
    while (offset < body.length) {
      const end = Math.min(offset + BODY_PIECE_BYTES, body.length);
      const more = res.write(body.subarray(offset, end));
      offset = end;
      if (!more) {
        // Once drained, the next piece waits for the next turn, so pending I/O (DNS) runs in between.
        res.once('drain', () => setImmediate(pump));
        return;
      }
    }
    res.end();
  };
  pump();
}
