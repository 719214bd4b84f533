/**
 * Control-plane side of a message that carries the whole state of
 * something (the key material, the socket-filter plan): only the latest
 * one matters, and the console's reply waits until every worker has taken
 * it. Each worker confirms the number of the last message it applied.
 */

/** How long the console waits for the workers to take the latest message before it replies without them. */
export const DELIVERY_GRACE_MS = 5000;

interface Delivery {
  seq: number;
  pending: Set<number>;
  done: Promise<void>;
  resolve: () => void;
}

export class LatestDelivery {
  readonly #graceMs: number;
  #seq = 0;
  #latest: Delivery | undefined;

  constructor(graceMs = DELIVERY_GRACE_MS) {
    this.#graceMs = graceMs;
  }

  /**
   * Number a new message and have `post` send it; `post` returns the
   * indexes of the workers it went to, which are then waited for. An
   * earlier message still waited for is settled: this one replaces it.
   */
  send(post: (seq: number) => number[]): void {
    const seq = ++this.#seq;
    const targets = post(seq);
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const delivery: Delivery = { seq, pending: new Set(targets), done, resolve };
    this.#latest?.resolve();
    this.#latest = delivery;
    if (delivery.pending.size === 0) return resolve();
    setTimeout(resolve, this.#graceMs).unref();
  }

  /** Worker `index` has applied the message numbered `seq` (or a later one). */
  applied(index: number, seq: number): void {
    const d = this.#latest;
    if (d && seq >= d.seq) this.#settle(d, index);
  }

  /** Worker `index` exited: nothing is waited for from it (its successor starts with the state of record). */
  gone(index: number): void {
    if (this.#latest) this.#settle(this.#latest, index);
  }

  /** Resolves once every worker has the latest message (or the grace period passed). */
  delivered(): Promise<void> {
    return this.#latest?.done ?? Promise.resolve();
  }

  #settle(d: Delivery, index: number): void {
    d.pending.delete(index);
    if (d.pending.size === 0) d.resolve();
  }
}
