/**
 * dnsdist's showResponseLatency(): the average backend latency and a
 * histogram in doubling bins from 0.1 ms, drawn with stars.
 */
import { formatPrintf } from './printf-format.js';
import { TIMEOUT_LATENCY_USEC, type ResponseRing } from './response-ring.js';

const BINS = 15;
const FIRST_BIN_USEC = 100;
const BAR_WIDTH = 70;

/** The histogram text as dnsdist prints it, or "No traffic yet.\n" when no answer is in the ring. */
export function showResponseLatency(rings: readonly ResponseRing[]): string {
  const bins = new Float64Array(BINS);
  let total = 0;
  let answered = 0;
  for (const ring of rings) {
    for (let k = 0; k < ring.count; k++) {
      const usec = ring.latency[ring.slot(k)]!;
      if (usec === TIMEOUT_LATENCY_USEC) continue;
      answered++;
      total += usec;
      // The first bin whose upper bound is at least the latency. Slower
      // answers than the last bound count in the average only: dnsdist
      // means to put them in the last bin but its code does not.
      for (let b = 0, bound = FIRST_BIN_USEC; b < BINS; b++, bound *= 2) {
        if (usec <= bound) {
          bins[b] = bins[b]! + 1;
          break;
        }
      }
    }
  }
  if (answered === 0) return 'No traffic yet.\n';

  let out = formatPrintf('Average response latency: %.02f msec\n', [(0.001 * total) / answered]);
  const highest = Math.max(...bins);
  out += formatPrintf('%7.2f\t%s\n', ['msec', '']);
  for (let b = 0, bound = FIRST_BIN_USEC; b < BINS; b++, bound *= 2) {
    const count = bins[b]!;
    let stars = Math.trunc((BAR_WIDTH * count) / highest);
    let mark = '*';
    if (stars === 0 && count > 0) {
      stars = 1;
      mark = (BAR_WIDTH * count) / highest > 0.5 ? ':' : '.';
    }
    out += formatPrintf('%7.2f\t%s\n', [bound / 1000, mark.repeat(Number.isFinite(stars) ? stars : 0)]);
  }
  return out;
}
