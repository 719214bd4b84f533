/**
 * The packet cache key of a query, dnsdist 1.7.3's getKey value for value:
 * lookup2 (byte-hash.ts) chained over the header without the ID (flags and
 * counts), the qname's wire form folded to lower case, everything after
 * the qname (qtype, qclass and the EDNS OPT record: payload size, DO bit,
 * options) and a byte for the transport (1 for UDP). The content of EDNS
 * options in `optionsToSkip` is left out (only their code and length
 * count), so that e.g. DNS Cookies do not split the cache.
 *
 * Being dnsdist's key, it collides where dnsdist's does: two queries that
 * differ only in an option's content (an ECS subnet, with parseECS off) can
 * share a key, and the cache then answers one with the other's response, as
 * dnsdist does (its test_Caching.py TestCachingCollisionNoECSParsing relies
 * on it). Queries whose name, type, class, flags, DO bit or transport
 * differ are told apart by PacketCache's entry comparison (counted as
 * lookup/insert collisions). The hash is split exactly where dnsdist
 * splits it (lookup2's result depends on the split), and the values match
 * dnsdist's `dumpStats` keys.
 */
import { burtle, burtleByte } from './byte-hash.js';

const HEADER_SIZE = 12;
/** qtype (2) + qclass (2), then the OPT record: root name (1), type (2), class (2), TTL (4), RDLENGTH (2). */
const QUESTION_TAIL_AND_OPT_HEADER = 15;

function u16(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

/**
 * Hash what follows the qname. Only a plain query with one question and a
 * lone OPT record has its options walked; anything else is hashed whole,
 * as is whatever remains once the walk meets something malformed.
 */
function hashAfterQname(hash: number, buf: Uint8Array, length: number, qnameEnd: number, optionsToSkip: ReadonlySet<number>): number {
  let h = hash;
  let pos = qnameEnd;
  const plainQueryWithOpt =
    u16(buf, 4) === 1 && u16(buf, 6) === 0 && u16(buf, 8) === 0 && u16(buf, 10) === 1 && pos + QUESTION_TAIL_AND_OPT_HEADER < length;
  if (!plainQueryWithOpt || optionsToSkip.size === 0) return burtle(buf, pos, length, h);

  h = burtle(buf, pos, pos + QUESTION_TAIL_AND_OPT_HEADER, h);
  const rdLength = u16(buf, pos + QUESTION_TAIL_AND_OPT_HEADER - 2);
  pos += QUESTION_TAIL_AND_OPT_HEADER;
  if (rdLength > length - pos) return burtle(buf, pos, length, h);

  let rdataRead = 0;
  while (pos < length && rdLength - rdataRead >= 4) {
    const code = u16(buf, pos);
    const optionLength = u16(buf, pos + 2);
    if (optionLength > rdLength - rdataRead - 4) return burtle(buf, pos, length, h);
    // A skipped option still counts by code and length, so its presence keeps separating queries.
    h = burtle(buf, pos, optionsToSkip.has(code) ? pos + 4 : pos + 4 + optionLength, h);
    pos += 4 + optionLength;
    rdataRead += 4 + optionLength;
  }
  return pos < length ? burtle(buf, pos, length, h) : h;
}

/**
 * Key of the query in `buf[0..length)` whose qname ends at `qnameEnd`.
 * Allocates nothing.
 *
 * @param qnameLower the qname's wire form folded to lower case, in its
 *   first `qnameEnd - 12` bytes (DnsQueryView.qnameLower).
 * @param overUdp dnsdist keeps UDP and TCP answers apart (a UDP answer may be truncated).
 */
export function computeCacheKey(
  buf: Uint8Array,
  length: number,
  qnameEnd: number,
  qnameLower: Uint8Array,
  overUdp: boolean,
  optionsToSkip: ReadonlySet<number>,
): number {
  let h = burtle(buf, 2, HEADER_SIZE, 0);
  h = burtle(qnameLower, 0, qnameEnd - HEADER_SIZE, h);
  if (length > qnameEnd) h = hashAfterQname(h, buf, length, qnameEnd, optionsToSkip);
  return burtleByte(overUdp ? 1 : 0, h);
}
