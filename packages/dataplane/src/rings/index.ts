/**
 * Query and response ring buffers (dnsdist's setRingBuffersSize rings)
 * and the analyses built on them: per-client counting for dynamic blocks,
 * the legacy exceed*() functions, and the console's top lists and grepq.
 */
export { Rings, type RingOptions } from './rings.js';
export { QueryRing, type QueryColumns } from './query-ring.js';
export { ResponseRing, TIMEOUT_LATENCY_USEC, type ResponseColumns } from './response-ring.js';
export { QueryEntry, ResponseEntry } from './ring-entry.js';
export { RingArgumentError } from './ring-argument-error.js';
export {
  countQueriesByClient,
  countResponsesByClient,
  cutOffFor,
  rateExceeded,
  type ClientCounts,
  type QueryCounter,
  type ResponseCounter,
} from './client-counting.js';
export { ClientKeyer, ClientRange, EXACT_CLIENT_MASKS, validateClientMasks, type ClientKey, type ClientMasks } from './client-range.js';
export type { ExceedResult } from './exceed.js';
export { formatTopRows, type TopRow } from './top-lists.js';
export type { ResponseRingRow, RespRingRow } from './ring-tables.js';
export { RingTransport, transportName } from './ring-transport.js';
export { formatPrintf, formatFixed } from './printf-format.js';
export { rcodeText, opcodeText } from './dns-header-names.js';
