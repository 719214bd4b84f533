/**
 * dnsdist's legacy rate analyses, `exceedQRate()` and friends: which
 * clients sent (or were sent) more than `rate` per second over the last
 * `seconds`. Clients are single addresses (ports ignored). The result maps
 * the client's address text to its count, like dnsdist's table of
 * ComboAddress → count that `addDynBlocks()` consumes.
 */
import { countQueriesByClient, countResponsesByClient, cutOffFor, rateExceeded, type ClientCounts } from './client-counting.js';
import { EXACT_CLIENT_MASKS } from './client-range.js';
import type { QueryRing } from './query-ring.js';
import type { ResponseRing } from './response-ring.js';

/** Address text ("192.0.2.1", "2001:db8::1") → count, for clients over the limit. */
export type ExceedResult = Map<string, number>;

const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;

/**
 * Keep the clients whose first total exceeds `rate` over `seconds`. When
 * seconds is 0, the window is the age of the oldest entry in the ring,
 * counted or not (dnsdist tracks that age over every entry it walks), which
 * the second total's `oldest` provides when there is one.
 */
function filterScore(found: ClientCounts, rate: number, seconds: number): ExceedResult {
  const oldest = found.oldest.length > 1 ? found.oldest[1]! : found.oldest[0]!;
  const out: ExceedResult = new Map();
  for (const range of found.clients.values()) {
    const count = range.counts[0]!;
    if (count > 0 && rateExceeded(count, rate, seconds, oldest, found.now)) out.set(range.addressText(), count);
  }
  return out;
}

/** Clients with more than `rate` queries per second over the last `seconds` (0: the whole ring). */
export function exceedQRate(rings: readonly QueryRing[], rate: number, seconds: number, now: number): ExceedResult {
  const found = countQueriesByClient(rings, now, EXACT_CLIENT_MASKS, [{ cutOff: cutOffFor(now, seconds) }]);
  return filterScore(found, rate, seconds);
}

/** Like {@link exceedQRate}, counting only queries of type `qtype`. */
export function exceedQTypeRate(rings: readonly QueryRing[], qtype: number, rate: number, seconds: number, now: number): ExceedResult {
  const cutOff = cutOffFor(now, seconds);
  const counters = seconds !== 0 ? [{ cutOff, qtype }] : [{ cutOff, qtype }, { cutOff }];
  return filterScore(countQueriesByClient(rings, now, EXACT_CLIENT_MASKS, counters), rate, seconds);
}

function exceedRCode(rings: readonly ResponseRing[], rcode: number, rate: number, seconds: number, now: number): ExceedResult {
  const cutOff = cutOffFor(now, seconds);
  const counters = seconds !== 0 ? [{ cutOff, rcode }] : [{ cutOff, rcode }, { cutOff }];
  return filterScore(countResponsesByClient(rings, now, EXACT_CLIENT_MASKS, counters), rate, seconds);
}

/** Clients that got more than `rate` SERVFAIL answers per second over the last `seconds`. */
export function exceedServFails(rings: readonly ResponseRing[], rate: number, seconds: number, now: number): ExceedResult {
  return exceedRCode(rings, RCODE_SERVFAIL, rate, seconds, now);
}

/** Clients that got more than `rate` NXDOMAIN answers per second over the last `seconds`. */
export function exceedNXDOMAINs(rings: readonly ResponseRing[], rate: number, seconds: number, now: number): ExceedResult {
  return exceedRCode(rings, RCODE_NXDOMAIN, rate, seconds, now);
}

/** Clients that were sent more than `rate` bytes of answers per second over the last `seconds`. */
export function exceedRespByterate(rings: readonly ResponseRing[], rate: number, seconds: number, now: number): ExceedResult {
  const found = countResponsesByClient(rings, now, EXACT_CLIENT_MASKS, [{ cutOff: cutOffFor(now, seconds), measure: 'bytes' }]);
  return filterScore(found, rate, seconds);
}
