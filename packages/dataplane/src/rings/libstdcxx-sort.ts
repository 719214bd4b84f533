/**
 * libstdc++'s `std::sort` and `std::partial_sort`, step for step.
 *
 * dnsdist's top lists sort (count, name) pairs by count only, with these
 * unstable algorithms, starting from its std::map order. Which of several
 * equally frequent names is printed first is therefore decided by how
 * libstdc++ moves elements around; replaying the same moves makes our
 * tables come out in the same order as dnsdist's, ties included.
 *
 * `less(a, b)` must be a strict weak ordering, as in C++.
 */

type Less<T> = (a: T, b: T) => boolean;

/** Elements at or below this many are left to the final insertion sort (libstdc++'s `_S_threshold`). */
const THRESHOLD = 16;

function swap<T>(a: T[], i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

/** floor(log2(n)) for n >= 1 (`std::__lg`). */
function lg(n: number): number {
  return 31 - Math.clz32(n);
}

function pushHeap<T>(a: T[], first: number, hole: number, top: number, value: T, less: Less<T>): void {
  let parent = Math.trunc((hole - 1) / 2);
  while (hole > top && less(a[first + parent]!, value)) {
    a[first + hole] = a[first + parent]!;
    hole = parent;
    parent = Math.trunc((hole - 1) / 2);
  }
  a[first + hole] = value;
}

function adjustHeap<T>(a: T[], first: number, hole: number, len: number, value: T, less: Less<T>): void {
  const top = hole;
  let child = hole;
  while (child < Math.trunc((len - 1) / 2)) {
    child = 2 * (child + 1);
    if (less(a[first + child]!, a[first + child - 1]!)) child--;
    a[first + hole] = a[first + child]!;
    hole = child;
  }
  if ((len & 1) === 0 && child === Math.trunc((len - 2) / 2)) {
    child = 2 * (child + 1);
    a[first + hole] = a[first + child - 1]!;
    hole = child - 1;
  }
  pushHeap(a, first, hole, top, value, less);
}

function makeHeap<T>(a: T[], first: number, last: number, less: Less<T>): void {
  const len = last - first;
  if (len < 2) return;
  for (let parent = Math.trunc((len - 2) / 2); ; parent--) {
    adjustHeap(a, first, parent, len, a[first + parent]!, less);
    if (parent === 0) return;
  }
}

function popHeap<T>(a: T[], first: number, last: number, result: number, less: Less<T>): void {
  const value = a[result]!;
  a[result] = a[first]!;
  adjustHeap(a, first, 0, last - first, value, less);
}

function partialSortRange<T>(a: T[], first: number, middle: number, last: number, less: Less<T>): void {
  makeHeap(a, first, middle, less);
  for (let i = middle; i < last; i++) {
    if (less(a[i]!, a[first]!)) popHeap(a, first, middle, i, less);
  }
  for (let end = middle; end - first > 1;) {
    end--;
    popHeap(a, first, end, end, less);
  }
}

function moveMedianToFirst<T>(a: T[], result: number, x: number, y: number, z: number, less: Less<T>): void {
  if (less(a[x]!, a[y]!)) {
    if (less(a[y]!, a[z]!)) swap(a, result, y);
    else if (less(a[x]!, a[z]!)) swap(a, result, z);
    else swap(a, result, x);
  } else if (less(a[x]!, a[z]!)) swap(a, result, x);
  else if (less(a[y]!, a[z]!)) swap(a, result, z);
  else swap(a, result, y);
}

function unguardedPartition<T>(a: T[], first: number, last: number, pivot: number, less: Less<T>): number {
  for (;;) {
    while (less(a[first]!, a[pivot]!)) first++;
    last--;
    while (less(a[pivot]!, a[last]!)) last--;
    if (!(first < last)) return first;
    swap(a, first, last);
    first++;
  }
}

function introsortLoop<T>(a: T[], first: number, last: number, depth: number, less: Less<T>): void {
  while (last - first > THRESHOLD) {
    if (depth === 0) {
      partialSortRange(a, first, last, last, less);
      return;
    }
    depth--;
    const mid = first + Math.trunc((last - first) / 2);
    moveMedianToFirst(a, first, first + 1, mid, last - 1, less);
    const cut = unguardedPartition(a, first + 1, last, first, less);
    introsortLoop(a, cut, last, depth, less);
    last = cut;
  }
}

function unguardedLinearInsert<T>(a: T[], last: number, less: Less<T>): void {
  const value = a[last]!;
  let next = last - 1;
  while (less(value, a[next]!)) {
    a[last] = a[next]!;
    last = next;
    next--;
  }
  a[last] = value;
}

function insertionSort<T>(a: T[], first: number, last: number, less: Less<T>): void {
  if (first === last) return;
  for (let i = first + 1; i !== last; i++) {
    if (less(a[i]!, a[first]!)) {
      const value = a[i]!;
      for (let j = i; j > first; j--) a[j] = a[j - 1]!;
      a[first] = value;
    } else {
      unguardedLinearInsert(a, i, less);
    }
  }
}

/** Sort `a` in place exactly as libstdc++'s `std::sort(begin, end, less)` would. */
export function stdSort<T>(a: T[], less: Less<T>): void {
  const n = a.length;
  if (n === 0) return;
  introsortLoop(a, 0, n, lg(n) * 2, less);
  if (n > THRESHOLD) {
    insertionSort(a, 0, THRESHOLD, less);
    for (let i = THRESHOLD; i < n; i++) unguardedLinearInsert(a, i, less);
  } else {
    insertionSort(a, 0, n, less);
  }
}

/**
 * libstdc++'s `std::partial_sort(begin, begin + middle, end, less)`: the
 * first `middle` elements end up sorted, the rest in heap-selection order.
 */
export function stdPartialSort<T>(a: T[], middle: number, less: Less<T>): void {
  partialSortRange(a, 0, middle, a.length, less);
}
