import { DnsQueryView } from '@dnsdist-ts/dns';

/**
 * Query views carry scratch buffers; making one per query would cost more
 * than the parse itself. Queries borrow a view for their lifetime and give
 * it back when answered, dropped or timed out. A view that is never given
 * back is simply collected.
 */
export class QueryViewPool {
  readonly #free: DnsQueryView[] = [];
  readonly #max: number;

  constructor(max = 4096) {
    this.#max = max;
  }

  acquire(): DnsQueryView {
    return this.#free.pop() ?? new DnsQueryView();
  }

  release(view: DnsQueryView): void {
    if (this.#free.length < this.#max) this.#free.push(view);
  }
}
