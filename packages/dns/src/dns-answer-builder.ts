/**
 * Answers dnsdist makes itself instead of asking a backend: a query turned
 * into an RCODE or TC=1 response in place (RCodeAction, TCAction, dynamic
 * blocks), and a forged A/AAAA/CNAME answer (SpoofAction, SpoofCNAMEAction).
 */
import type { DNSName } from './dns-name.js';
import type { DnsQueryView } from './dns-query-view.js';
import { DNS_HEADER_SIZE, HeaderFlag, RCODE_MASK, Rcode, readFlags, writeFlags } from './dns-header.js';
import { AddressParseError, DnsPacketError } from './errors.js';
import { QType } from './qtype.js';

/**
 * Header bits a self-made response may force, as in dnsdist's action
 * options `{aa=, ad=, ra=}`. Left out: AA stays as it was in the query, AD
 * is cleared, RA is copied from RD (dnsdist's setResponseHeadersFromConfig).
 */
export interface ResponseHeaderOptions {
  aa?: boolean;
  ad?: boolean;
  ra?: boolean;
}

/** What SpoofAction / SpoofCNAMEAction answer with. */
export interface SpoofAnswer {
  /** Network-order address bytes: 4 for IPv4 (A records), 16 for IPv6 (AAAA records). */
  addresses?: Uint8Array[];
  /** When given, the answer is one CNAME to this name for any QTYPE, and `addresses` is ignored. */
  cname?: DNSName;
  /**
   * SpoofRawAction's answers: one record per entry, of the query's own
   * QTYPE, with the entry as its RDATA (at most 65535 bytes each),
   * shuffled like addresses. When given, `cname` and `addresses` are ignored.
   */
  raw?: Uint8Array[];
}

export interface SpoofOptions extends ResponseHeaderOptions {
  /** TTL of the forged records, 0 to 2^32-1. Default 60, as in dnsdist. */
  ttl?: number;
  /**
   * Whether to answer an EDNS query with an OPT record (dnsdist's
   * setAddEDNSToSelfGeneratedResponses). Default true.
   */
  addEdns?: boolean;
  /** UDP payload size in that OPT record (dnsdist's setPayloadSizeOnSelfGeneratedAnswers). Default 1232. */
  ednsPayloadSize?: number;
  /** Shuffle the address records, as dnsdist does for more than one. Default true. */
  shuffle?: boolean;
}

/** dnsdist's default TTL for spoofed records. */
export const DEFAULT_SPOOF_TTL = 60;
/** dnsdist's default UDP payload size advertised in self-generated answers. */
export const DEFAULT_SELF_GENERATED_PAYLOAD_SIZE = 1232;

const CLASS_IN = 1;
/** Owner name, TYPE, CLASS, TTL, RDLENGTH: the part of a record before its data, with a 2-byte pointer as owner. */
const RECORD_HEADER_SIZE = 12;
/** Root owner, TYPE, CLASS (payload size), TTL (ext. RCODE, version, flags), RDLENGTH 0. */
const OPT_RECORD_SIZE = 11;
/** A pointer to offset 12, where the question name starts. */
const POINTER_TO_QNAME = 0xc00c;
const EDNS_DO_BYTE = 0x80;

/** Apply dnsdist's setResponseHeadersFromConfig to a flags word. */
function responseFlags(flags: number, opts: ResponseHeaderOptions | undefined): number {
  let f = flags | HeaderFlag.QR;
  const aa = opts?.aa;
  if (aa !== undefined) f = aa ? f | HeaderFlag.AA : f & ~HeaderFlag.AA;
  f = opts?.ad ? f | HeaderFlag.AD : f & ~HeaderFlag.AD;
  const ra = opts?.ra ?? (f & HeaderFlag.RD) !== 0;
  return ra ? f | HeaderFlag.RA : f & ~HeaderFlag.RA;
}

function checkHeader(buf: Uint8Array, length: number, what: string): void {
  if (!(length >= DNS_HEADER_SIZE && length <= buf.length)) {
    throw new DnsPacketError(
      `cannot make ${what} from ${length} bytes in a ${buf.length}-byte buffer: a DNS message needs at least ${DNS_HEADER_SIZE} header bytes`,
      buf.subarray(0, Math.max(0, Math.min(length, buf.length))),
    );
  }
}

/**
 * Turn the query in `buf[0..length)` into a response with `rcode`, in
 * place: QR=1, RCODE set, header bits per `opts` (see
 * ResponseHeaderOptions). ID, question and any OPT record stay, as dnsdist
 * sends the query back with a modified header. Returns `length`.
 *
 * dnsdist's dynamic-block NXDomain/Refused only sets QR and RCODE; to
 * match that exactly, pass the query's own bits: `{ aa: view.aa, ad: view.ad, ra: view.ra }`.
 *
 * @throws DnsPacketError when the packet is shorter than a header or
 * `rcode` is not 0-15 (extended RCODEs need an OPT record).
 */
export function makeRcodeResponse(buf: Uint8Array, length: number, rcode: number, opts?: ResponseHeaderOptions): number {
  checkHeader(buf, length, `an RCODE ${rcode} response`);
  if (!Number.isInteger(rcode) || rcode < 0 || rcode > RCODE_MASK) {
    throw new DnsPacketError(`RCODE ${rcode} does not fit the 4-bit header field: use 0-15 (extended RCODEs need an OPT record)`, rcode);
  }
  writeFlags(buf, responseFlags((readFlags(buf) & ~RCODE_MASK) | rcode, opts));
  return length;
}

/**
 * Give a query turned into a response in place the OPT record dnsdist
 * gives such answers (its addEDNSToQueryTurnedResponse): the query's OPT
 * record and whatever follows it are cut, and when `addEdns` a fresh one
 * takes its place, with `payloadSize`, the query's DO bit, EDNS version 0
 * and no options. A query without EDNS is left alone. `view` must describe
 * `buf` as it is. Returns the new length, never more than `length`.
 */
export function replaceSelfGeneratedOpt(
  buf: Uint8Array,
  length: number,
  view: DnsQueryView,
  addEdns: boolean,
  payloadSize: number = DEFAULT_SELF_GENERATED_PAYLOAD_SIZE,
): number {
  checkHeader(buf, length, 'an EDNS self-generated answer');
  if (!view.hasEdns || view.ednsOffset < DNS_HEADER_SIZE || view.ednsOffset + OPT_RECORD_SIZE > length) return length;
  let p = view.ednsOffset;
  let arcount = view.ednsAdditionalIndex;
  if (addEdns) {
    writeOpt(buf, p, payloadSize, view.ednsDo);
    p += OPT_RECORD_SIZE;
    arcount++;
  }
  buf[10] = arcount >> 8;
  buf[11] = arcount & 0xff;
  return p;
}

/**
 * Strip a TC=1 answer down to its header and question, in place, as
 * dnsdist's truncateTC(true) does for UDP answers: the record counts go to
 * zero and, when the answer had EDNS and `addEdns`, a bare OPT record is
 * put back with the answer's own payload size and DO bit. `view` must
 * describe `buf` (a DnsQueryView reads answers as well as queries).
 * Returns the new length, never more than `length`.
 */
export function stripTruncatedAnswer(buf: Uint8Array, length: number, view: DnsQueryView, addEdns: boolean): number {
  checkHeader(buf, length, 'a stripped truncated answer');
  if (!view.valid || view.questionEnd > length) return length;
  const withOpt = addEdns && view.hasEdns;
  let p = view.questionEnd;
  for (let i = 6; i < 12; i++) buf[i] = 0; // ANCOUNT, NSCOUNT, ARCOUNT
  if (withOpt) {
    writeOpt(buf, p, view.ednsUdpPayloadSize, view.ednsDo);
    p += OPT_RECORD_SIZE;
    buf[11] = 1;
  }
  return p;
}

/** A bare OPT record at `p`: root owner, `payloadSize`, extended RCODE 0, version 0, DO as given, no options. */
function writeOpt(buf: Uint8Array, p: number, payloadSize: number, dnssecOk: boolean): void {
  buf[p] = 0;
  buf[p + 1] = QType.OPT >> 8;
  buf[p + 2] = QType.OPT & 0xff;
  buf[p + 3] = (payloadSize >> 8) & 0xff;
  buf[p + 4] = payloadSize & 0xff;
  buf[p + 5] = 0;
  buf[p + 6] = 0;
  buf[p + 7] = dnssecOk ? EDNS_DO_BYTE : 0;
  buf[p + 8] = 0;
  buf[p + 9] = 0;
  buf[p + 10] = 0;
}

/**
 * Turn the query in `buf[0..length)` into a TC=1 answer in place, as
 * dnsdist's TCAction and Truncate dynamic blocks do: QR=1, TC=1, RA=RD,
 * AA=0, AD=0; everything else unchanged. Returns `length`.
 *
 * @throws DnsPacketError when the packet is shorter than a header.
 */
export function makeTruncatedResponse(buf: Uint8Array, length: number): number {
  checkHeader(buf, length, 'a truncated response');
  let flags = readFlags(buf) | HeaderFlag.QR | HeaderFlag.TC;
  flags &= ~(HeaderFlag.AA | HeaderFlag.AD);
  flags = flags & HeaderFlag.RD ? flags | HeaderFlag.RA : flags & ~HeaderFlag.RA;
  writeFlags(buf, flags);
  return length;
}

function addressMatches(address: Uint8Array, qtype: number): boolean {
  if (qtype === QType.ANY) return true;
  return address.length === 4 ? qtype === QType.A : qtype === QType.AAAA;
}

/**
 * Whether dnsdist's SpoofAction would answer a query of `qtype`: always
 * with a CNAME; with addresses only for A (given an IPv4 address), AAAA
 * (given an IPv6 address) or ANY (given any). When this is false, dnsdist
 * lets the query go on to the next rule instead of answering.
 */
export function spoofAnswerApplies(qtype: number, answer: SpoofAnswer): boolean {
  if (answer.cname || answer.raw) return true;
  for (const address of answer.addresses ?? []) {
    if (addressMatches(address, qtype)) return true;
  }
  return false;
}

function checkTtl(ttl: number): number {
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0xffffffff) {
    throw new DnsPacketError(`TTL ${ttl} is not a whole number of seconds from 0 to 4294967295`, ttl);
  }
  return ttl;
}

function shuffled(addresses: Uint8Array[]): Uint8Array[] {
  for (let i = addresses.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const tmp = addresses[i]!;
    addresses[i] = addresses[j]!;
    addresses[j] = tmp;
  }
  return addresses;
}

function writeRecordHeader(out: Buffer, at: number, type: number, ttl: number, rdlength: number): number {
  out.writeUInt16BE(POINTER_TO_QNAME, at);
  out.writeUInt16BE(type, at + 2);
  out.writeUInt16BE(CLASS_IN, at + 4);
  out.writeUInt32BE(ttl, at + 6);
  out.writeUInt16BE(rdlength, at + 10);
  return at + RECORD_HEADER_SIZE;
}

/**
 * A forged NOERROR answer to `query`, in a new buffer, as dnsdist's
 * SpoofAction / SpoofCNAMEAction build it: the ID, flags and first question
 * taken from `query.buf` as it is now (so header bits changed in place
 * since parsing count), QDCOUNT 1, then one record per address that suits the QTYPE (A
 * for 4-byte, AAAA for 16-byte addresses, both for ANY), shuffled, or a
 * single CNAME to `answer.cname` whatever the QTYPE. Records are class IN
 * with the owner written as a pointer to the question name (0xc00c). QR=1
 * and header bits per `opts` (see ResponseHeaderOptions). When the query
 * had EDNS, an OPT record is added with dnsdist's self-generated payload
 * size (1232 unless `opts.ednsPayloadSize`) and the query's DO bit; the
 * query's own OPT record and options are not echoed.
 *
 * When no address suits the QTYPE the result has no answers (NODATA);
 * dnsdist does not answer at all then, so check `spoofAnswerApplies` first.
 *
 * @throws DnsPacketError when `query` is not valid or `opts.ttl` is out of range.
 * @throws AddressParseError when an address is neither 4 nor 16 bytes.
 */
export function buildSpoofedAnswer(query: DnsQueryView, answer: SpoofAnswer, opts?: SpoofOptions): Buffer {
  if (!query.valid) {
    throw new DnsPacketError(
      `cannot answer a query that did not parse (${query.error ?? 'nothing parsed yet'}): check view.valid first`,
      query.buf.subarray(0, query.length),
    );
  }
  const ttl = checkTtl(opts?.ttl ?? DEFAULT_SPOOF_TTL);
  const payloadSize = opts?.ednsPayloadSize ?? DEFAULT_SELF_GENERATED_PAYLOAD_SIZE;
  if (!Number.isInteger(payloadSize) || payloadSize < 0 || payloadSize > 0xffff) {
    throw new DnsPacketError(`EDNS payload size ${payloadSize} is not a 16-bit number: use 512-65535, usually 1232`, payloadSize);
  }
  for (const address of answer.addresses ?? []) {
    if (address.length !== 4 && address.length !== 16) {
      throw new AddressParseError(
        `spoofed address has ${address.length} bytes: give 4 (IPv4) or 16 (IPv6) network-order bytes, as parseAddress returns`,
        address,
      );
    }
  }

  const raw = answer.raw && answer.raw.length > 1 && opts?.shuffle !== false ? shuffled([...answer.raw]) : answer.raw;
  for (const rdata of raw ?? []) {
    if (rdata.length > 0xffff) {
      throw new DnsPacketError(`raw record data of ${rdata.length} bytes does not fit RDLENGTH: give at most 65535 bytes`, rdata.length);
    }
  }
  const cname = raw ? undefined : answer.cname;
  const cnameWire = cname?.toWire();
  const addresses = cname || raw ? [] : (answer.addresses ?? []).filter((a) => addressMatches(a, query.qtype));
  if (addresses.length > 1 && opts?.shuffle !== false) shuffled(addresses);
  const withOpt = query.hasEdns && opts?.addEdns !== false;

  let size = query.questionEnd;
  if (cnameWire) size += RECORD_HEADER_SIZE + cnameWire.length;
  for (const address of addresses) size += RECORD_HEADER_SIZE + address.length;
  for (const rdata of raw ?? []) size += RECORD_HEADER_SIZE + rdata.length;
  if (withOpt) size += OPT_RECORD_SIZE;

  const out = Buffer.allocUnsafe(size);
  // ID, flags and question come from the packet as it is now, so in-place changes made after
  // parsing (NoRecurseAction clearing RD, say) show in the answer, as in dnsdist.
  out.set(query.buf.subarray(0, query.questionEnd), 0);
  writeFlags(out, responseFlags((readFlags(out) & ~RCODE_MASK) | Rcode.NoError, opts));
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(raw ? raw.length : cnameWire ? 1 : addresses.length, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(withOpt ? 1 : 0, 10);

  let at = query.questionEnd;
  if (cnameWire) {
    at = writeRecordHeader(out, at, QType.CNAME, ttl, cnameWire.length);
    out.set(cnameWire, at);
    at += cnameWire.length;
  }
  for (const address of addresses) {
    at = writeRecordHeader(out, at, address.length === 4 ? QType.A : QType.AAAA, ttl, address.length);
    out.set(address, at);
    at += address.length;
  }
  for (const rdata of raw ?? []) {
    at = writeRecordHeader(out, at, query.qtype, ttl, rdata.length);
    out.set(rdata, at);
    at += rdata.length;
  }
  if (withOpt) {
    out[at] = 0;
    out.writeUInt16BE(QType.OPT, at + 1);
    out.writeUInt16BE(payloadSize, at + 3);
    out[at + 5] = 0; // extended RCODE
    out[at + 6] = 0; // EDNS version
    out[at + 7] = query.ednsDo ? EDNS_DO_BYTE : 0;
    out[at + 8] = 0;
    out.writeUInt16BE(0, at + 9);
  }
  return out;
}

/**
 * dnsdist's addEDNSToQueryTurnedResponse: a query answered in place (an
 * RCODE, a TC=1 answer) whose only record is the query's OPT record, right
 * after its single question, gets that record replaced by dnsdist's own:
 * root owner, UDP payload size `payloadSize`, extended RCODE `extendedRcode`
 * (the upper 8 bits of a 12-bit RCODE), version 0, the query's DO bit, no
 * options. Whatever followed the OPT record goes too. With `addEdns` false
 * the OPT record is removed instead (ARCOUNT 0). Any other layout is left
 * alone, as in dnsdist. Works in place (the new record is never longer);
 * returns the new length.
 */
export function resetQueryTurnedResponseOpt(
  buf: Uint8Array,
  length: number,
  questionEnd: number,
  extendedRcode: number,
  payloadSize: number = DEFAULT_SELF_GENERATED_PAYLOAD_SIZE,
  addEdns = true,
): number {
  if (length < DNS_HEADER_SIZE || length > buf.length) return length;
  const count = (at: number): number => (buf[at]! << 8) | buf[at + 1]!;
  if (count(4) !== 1 || count(6) !== 0 || count(8) !== 0 || count(10) !== 1) return length;
  const opt = questionEnd;
  // Root owner, TYPE OPT, CLASS, then at least the TTL and RDLENGTH fields.
  if (opt + 1 + 4 + 6 > length || buf[opt] !== 0 || count(opt + 1) !== QType.OPT) return length;
  if (!addEdns) {
    buf[10] = 0;
    buf[11] = 0;
    return opt;
  }
  const dnssecOk = buf[opt + 7]! & EDNS_DO_BYTE;
  buf[opt + 3] = (payloadSize >>> 8) & 0xff;
  buf[opt + 4] = payloadSize & 0xff;
  buf[opt + 5] = extendedRcode & 0xff;
  buf[opt + 6] = 0;
  buf[opt + 7] = dnssecOk;
  buf[opt + 8] = 0;
  buf[opt + 9] = 0;
  buf[opt + 10] = 0;
  return opt + OPT_RECORD_SIZE;
}

/** The SOA record NegativeAndSOAAction answers with. */
export interface NegativeSoa {
  /** true: NXDOMAIN; false: NODATA (NOERROR, no answer). */
  nxd: boolean;
  /** Owner of the SOA record. */
  zone: DNSName;
  ttl: number;
  mname: DNSName;
  rname: DNSName;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/**
 * A negative answer to `query` as dnsdist 1.7's NegativeAndSOAAction makes
 * it, in a new buffer: the ID, flags and first question of `query.buf`,
 * QR=1, RCODE NXDOMAIN or NOERROR, header bits per `opts`, no answer or
 * authority records, and the SOA record in the additional section (names
 * written whole, without compression), then, when the query had EDNS, an
 * OPT record with the self-generated payload size and the query's DO bit.
 *
 * @throws DnsPacketError when `query` is not valid or a number does not fit its field.
 */
export function buildNegativeSoaAnswer(query: DnsQueryView, soa: NegativeSoa, opts?: SpoofOptions): Buffer {
  if (!query.valid) {
    throw new DnsPacketError(
      `cannot answer a query that did not parse (${query.error ?? 'nothing parsed yet'}): check view.valid first`,
      query.buf.subarray(0, query.length),
    );
  }
  for (const v of [soa.ttl, soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum]) checkTtl(v);
  const payloadSize = opts?.ednsPayloadSize ?? DEFAULT_SELF_GENERATED_PAYLOAD_SIZE;
  const zone = soa.zone.toWire();
  const mname = soa.mname.toWire();
  const rname = soa.rname.toWire();
  const rdlength = mname.length + rname.length + 20;
  const withOpt = query.hasEdns && opts?.addEdns !== false;
  const size = query.questionEnd + zone.length + 10 + rdlength + (withOpt ? OPT_RECORD_SIZE : 0);
  const out = Buffer.allocUnsafe(size);
  out.set(query.buf.subarray(0, query.questionEnd), 0);
  writeFlags(out, responseFlags((readFlags(out) & ~RCODE_MASK) | (soa.nxd ? Rcode.NXDomain : Rcode.NoError), opts));
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(withOpt ? 2 : 1, 10);
  let at = query.questionEnd;
  out.set(zone, at);
  at += zone.length;
  out.writeUInt16BE(QType.SOA, at);
  out.writeUInt16BE(CLASS_IN, at + 2);
  out.writeUInt32BE(soa.ttl, at + 4);
  out.writeUInt16BE(rdlength, at + 8);
  at += 10;
  out.set(mname, at);
  at += mname.length;
  out.set(rname, at);
  at += rname.length;
  for (const v of [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum]) {
    out.writeUInt32BE(v, at);
    at += 4;
  }
  if (withOpt) {
    out[at] = 0;
    out.writeUInt16BE(QType.OPT, at + 1);
    out.writeUInt16BE(payloadSize, at + 3);
    out[at + 5] = 0;
    out[at + 6] = 0;
    out[at + 7] = query.ednsDo ? EDNS_DO_BYTE : 0;
    out[at + 8] = 0;
    out.writeUInt16BE(0, at + 9);
  }
  return out;
}
