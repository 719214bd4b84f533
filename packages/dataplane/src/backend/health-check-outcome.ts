/**
 * The outcome of one health check: the first of its answer, its failure or
 * its timeout (checkTimeout, counted as a failure) settles it; `close` then
 * releases what the check opened, once, and later events change nothing.
 * Returns the function that settles it.
 */
export function settleCheckOnce(timeoutMs: number, close: () => void, resolve: (ok: boolean) => void): (ok: boolean) => void {
  let done = false;
  const finish = (ok: boolean): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    close();
    resolve(ok);
  };
  const timer = setTimeout(() => finish(false), timeoutMs);
  return finish;
}
