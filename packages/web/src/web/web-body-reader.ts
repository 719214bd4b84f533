/**
 * Reading one request body under a size bound and a deadline. Chunked
 * bodies are counted as they stream (no length is known up front); the
 * reader stops taking data at the first byte over the bound or when the
 * deadline passes, and pauses the request so node stops reading the socket.
 */
import type http from 'node:http';

/** How reading a body ended. `received` counts the bytes taken before it ended. */
export type BodyOutcome =
  | { readonly kind: 'complete'; readonly body: Buffer }
  | { readonly kind: 'too-large'; readonly received: number }
  | { readonly kind: 'timeout'; readonly received: number }
  /** The client closed or reset the connection before the body was complete. */
  | { readonly kind: 'aborted'; readonly received: number };

/** Errors a request emits once its client is gone; the reader reports them as 'aborted', nothing else may see them. */
function ignore(): void {}

/**
 * Read `req`'s body: at most `limit` bytes, complete within `deadlineMs`.
 * Never rejects.
 */
export function readRequestBody(req: http.IncomingMessage, limit: number, deadlineMs: number): Promise<BodyOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const finish = (outcome: BodyOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
      req.on('error', ignore);
      if (outcome.kind !== 'complete') req.pause();
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) finish({ kind: 'too-large', received });
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish({ kind: 'complete', body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
    const onClose = (): void => finish({ kind: 'aborted', received });
    const timer = setTimeout(() => finish({ kind: 'timeout', received }), deadlineMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onClose);
    // The client may have gone while the request was being authorised: its 'close' is already past.
    if (req.destroyed && !req.complete) onClose();
  });
}
