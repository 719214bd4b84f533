/**
 * The sort replay against the real thing: a small C++ program sorts the
 * same (count, id) pairs with libstdc++'s std::sort and std::partial_sort
 * (comparing counts only, as dnsdist does), and the orders must match,
 * ties included.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describeRequires } from '../../../../test/support/require.js';
import { gxx } from '../../../../test/support/requirements.js';
import { stdPartialSort, stdSort } from '@dnsdist-ts/dataplane/rings/libstdcxx-sort.js';

const PROGRAM = String.raw`
#include <algorithm>
#include <iostream>
#include <utility>
#include <vector>
// Input lines: "<mode> <middle> <n> c1 c2 ... cn"; output: the ids (input positions) in sorted order.
int main() {
  int mode; size_t middle, n;
  while (std::cin >> mode >> middle >> n) {
    std::vector<std::pair<unsigned, unsigned>> v(n);
    for (size_t i = 0; i < n; i++) { std::cin >> v[i].first; v[i].second = i; }
    auto less = [](const std::pair<unsigned, unsigned>& a, const std::pair<unsigned, unsigned>& b) { return b.first < a.first; };
    if (mode == 0) std::sort(v.begin(), v.end(), less);
    else std::partial_sort(v.begin(), v.begin() + middle, v.end(), less);
    for (size_t i = 0; i < n; i++) std::cout << v[i].second << (i + 1 < n ? " " : "");
    std::cout << "\n";
  }
}
`;

describeRequires('libstdc++ sort replay', gxx, () => {
  let dir: string;
  let binary: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dts-stdsort-'));
    writeFileSync(join(dir, 'sort.cc'), PROGRAM);
    binary = join(dir, 'sort');
    execFileSync('g++', ['-O1', '-o', binary, join(dir, 'sort.cc')], { timeout: 60_000 });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  interface Case {
    counts: number[];
    middle: number;
  }

  function cplusplus(mode: 0 | 1, cases: Case[]): number[][] {
    const input = cases.map((c) => `${mode} ${c.middle} ${c.counts.length} ${c.counts.join(' ')}`).join('\n') + '\n';
    const out = execFileSync(binary, { input, encoding: 'utf8' });
    return out
      .trimEnd()
      .split('\n')
      .map((line) => (line === '' ? [] : line.split(' ').map(Number)));
  }

  function ours(mode: 0 | 1, c: Case): number[] {
    const items = c.counts.map((count, id) => ({ count, id }));
    const less = (a: { count: number }, b: { count: number }): boolean => b.count < a.count;
    if (mode === 0) stdSort(items, less);
    else stdPartialSort(items, c.middle, less);
    return items.map((i) => i.id);
  }

  // Few distinct counts over many elements: lots of ties, the case that shows the algorithm.
  const cases = fc.sample(
    fc
      .array(fc.integer({ min: 0, max: 6 }), { minLength: 0, maxLength: 300 })
      .chain((counts) => fc.record({ counts: fc.constant(counts), middle: fc.integer({ min: 0, max: counts.length }) })),
    400,
  );
  // Adversarial shapes too: sorted, reversed, all equal, and sizes around the 16-element threshold.
  for (const n of [15, 16, 17, 33, 1000]) {
    cases.push({ counts: Array.from({ length: n }, (_, i) => i), middle: Math.floor(n / 2) });
    cases.push({ counts: Array.from({ length: n }, (_, i) => n - i), middle: n });
    cases.push({ counts: Array.from({ length: n }, () => 1), middle: 3 });
  }

  it('orders like std::sort', () => {
    const expected = cplusplus(0, cases);
    cases.forEach((c, i) => expect(ours(0, c)).toEqual(expected[i]));
  });

  it('orders like std::partial_sort', () => {
    const expected = cplusplus(1, cases);
    cases.forEach((c, i) => expect(ours(1, c)).toEqual(expected[i]));
  });
});
