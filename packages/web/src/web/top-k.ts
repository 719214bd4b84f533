/**
 * The k items with the highest scores among many, in O(n log k) time and
 * O(k) memory (a min-heap of the best so far): the dashboard picks its top
 * lists out of up to 100,000 blocks every second.
 */
export class TopK<T> {
  readonly #k: number;
  readonly #items: T[] = [];
  readonly #scores: number[] = [];

  constructor(k: number) {
    this.#k = k;
  }

  /** Offer an item; kept when its score beats the lowest kept one (ties keep the earlier item). */
  add(item: T, score: number): void {
    const items = this.#items;
    const scores = this.#scores;
    if (items.length < this.#k) {
      items.push(item);
      scores.push(score);
      this.#siftUp(items.length - 1);
    } else if (this.#k > 0 && score > scores[0]!) {
      items[0] = item;
      scores[0] = score;
      this.#siftDown(0);
    }
  }

  /** The kept items, highest score first. */
  sorted(): Array<[T, number]> {
    return this.#items.map((item, i): [T, number] => [item, this.#scores[i]!]).sort((a, b) => b[1] - a[1]);
  }

  #swap(i: number, j: number): void {
    [this.#items[i], this.#items[j]] = [this.#items[j]!, this.#items[i]!];
    [this.#scores[i], this.#scores[j]] = [this.#scores[j]!, this.#scores[i]!];
  }

  #siftUp(i: number): void {
    const s = this.#scores;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (s[parent]! <= s[i]!) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #siftDown(i: number): void {
    const s = this.#scores;
    const n = s.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < n && s[l]! < s[min]!) min = l;
      if (r < n && s[r]! < s[min]!) min = r;
      if (min === i) return;
      this.#swap(i, min);
      i = min;
    }
  }
}
