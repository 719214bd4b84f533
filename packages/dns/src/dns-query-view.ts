/**
 * DnsQueryView: the header, first question and EDNS basics of a DNS query,
 * read straight from the packet bytes. One view is meant to be reused for
 * every packet a socket receives, so parsing allocates nothing but the
 * qname string, and not even that when the name repeats.
 */
import { internedQname, internQname, qnameHashStep, QNAME_HASH_SEED } from './qname-interner.js';
import { DNSName, MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from './dns-name.js';
import { DNS_HEADER_SIZE, HeaderFlag, OPCODE_MASK, OPCODE_SHIFT, RCODE_MASK } from './dns-header.js';
import { DnsPacketError } from './errors.js';
import { QType } from './qtype.js';
import { skipWireName } from './wire-name-skip.js';

/** Why `DnsQueryView.parse` rejected a packet. */
export type DnsQueryParseError = 'short-header' | 'no-question' | 'bad-name' | 'truncated-question';

const DOT = 0x2e;
const BACKSLASH = 0x5c;
const DIGIT_0 = 0x30;
/** Longest presentation form: every byte escaped as \DDD, plus the dots. */
const MAX_TEXT_LENGTH = MAX_NAME_LENGTH * 4;
const EMPTY = new Uint8Array(0);

export class DnsQueryView {
  /** The packet last given to `parse`; the view reads it, never writes it. */
  buf: Uint8Array = EMPTY;
  /** Bytes of `buf` that belong to the packet. */
  length = 0;
  /**
   * True when the last `parse` found a 12-byte header and one complete
   * question. When false, `error` says why, and the header fields are
   * still set if the packet had 12 bytes.
   */
  valid = false;
  error: DnsQueryParseError | undefined = undefined;

  id = 0;
  /** The whole 16-bit flags word; the getters below pick bits out of it. */
  flags = 0;
  qdcount = 0;
  ancount = 0;
  nscount = 0;
  arcount = 0;

  /**
   * The first question's name, lower-cased (ASCII A-Z only), in presentation
   * form with the trailing dot and DNSName's escaping: "www.example.com.",
   * "." for the root. '' when the packet is not valid.
   */
  qname = '';
  /** Where the question name starts: always 12. */
  readonly qnameOffset = DNS_HEADER_SIZE;
  /** Offset just after the name's root byte (where QTYPE starts). */
  qnameEnd = DNS_HEADER_SIZE;
  /** Wire length of the name, the root byte included (1 for the root); 0 when not valid. */
  qnameWireLength = 0;
  /**
   * The name in wire form, lower-cased, in bytes 0 to `qnameWireLength`.
   * A copy owned by the view (for hashing, cache keys and comparing
   * responses), so it stays right even if `buf` is reused; it is
   * overwritten by the next `parse`.
   */
  readonly qnameLower: Uint8Array = new Uint8Array(MAX_NAME_LENGTH);
  qtype = 0;
  qclass = 0;
  /** Offset just after the first question's QCLASS. */
  questionEnd = DNS_HEADER_SIZE;

  /** True when an OPT record was found in the additional section. */
  hasEdns = false;
  /** The OPT record's CLASS field: the requester's UDP payload size. 0 without EDNS. */
  ednsUdpPayloadSize = 0;
  /** The DNSSEC OK bit of the OPT record. */
  ednsDo = false;
  /** Offset of the OPT record's owner name, -1 without EDNS. */
  ednsOffset = -1;
  /** Additional records before the OPT record (usually 0). */
  ednsAdditionalIndex = 0;

  /** Scratch space for building the qname text without allocating per byte. */
  readonly #text: Buffer = Buffer.allocUnsafeSlow(MAX_TEXT_LENGTH);
  /** `qnameLower` holds the name `#lastQname` was made from. */
  #lastNameUsable = false;
  #lastQname = '';

  get qr(): boolean {
    return (this.flags & HeaderFlag.QR) !== 0;
  }
  get opcode(): number {
    return (this.flags & OPCODE_MASK) >>> OPCODE_SHIFT;
  }
  get rcode(): number {
    return this.flags & RCODE_MASK;
  }
  get rd(): boolean {
    return (this.flags & HeaderFlag.RD) !== 0;
  }
  get tc(): boolean {
    return (this.flags & HeaderFlag.TC) !== 0;
  }
  get aa(): boolean {
    return (this.flags & HeaderFlag.AA) !== 0;
  }
  get ra(): boolean {
    return (this.flags & HeaderFlag.RA) !== 0;
  }
  get ad(): boolean {
    return (this.flags & HeaderFlag.AD) !== 0;
  }
  get cd(): boolean {
    return (this.flags & HeaderFlag.CD) !== 0;
  }

  /**
   * Read a new packet, `buf[0..length)` (all of `buf` by default). Returns
   * `valid`: true when the header and one complete question (name, QTYPE,
   * QCLASS) were read. A question name with a compression pointer, a label
   * over 63 bytes or a name over 255 bytes makes the packet invalid. Then
   * looks for an OPT record in the additional section; records that do not
   * walk cleanly just mean no EDNS. Never throws and never reads at or past
   * `length`.
   *
   * The fields describe the packet as it was when parsed: after rewriting
   * the packet, parse it again.
   */
  parse(buf: Uint8Array, length: number = buf.length): boolean {
    const end = length >= 0 ? Math.min(Math.floor(length), buf.length) : 0;
    this.buf = buf;
    this.length = end;
    this.valid = false;
    this.qname = '';
    this.qnameEnd = DNS_HEADER_SIZE;
    this.qnameWireLength = 0;
    this.qtype = 0;
    this.qclass = 0;
    this.questionEnd = DNS_HEADER_SIZE;
    this.hasEdns = false;
    this.ednsUdpPayloadSize = 0;
    this.ednsDo = false;
    this.ednsOffset = -1;
    this.ednsAdditionalIndex = 0;

    if (end < DNS_HEADER_SIZE) {
      this.id = this.flags = this.qdcount = this.ancount = this.nscount = this.arcount = 0;
      this.error = 'short-header';
      return false;
    }
    this.id = (buf[0]! << 8) | buf[1]!;
    this.flags = (buf[2]! << 8) | buf[3]!;
    this.qdcount = (buf[4]! << 8) | buf[5]!;
    this.ancount = (buf[6]! << 8) | buf[7]!;
    this.nscount = (buf[8]! << 8) | buf[9]!;
    this.arcount = (buf[10]! << 8) | buf[11]!;
    if (this.qdcount === 0) {
      this.error = 'no-question';
      return false;
    }

    // Copy the name lower-cased in one pass, noting whether it is the name we last made a
    // string for (then the string is reused, not rebuilt). The text form is only written when
    // the name is new to the interner, which for real traffic is rare.
    const lower = this.qnameLower;
    let same = this.#lastNameUsable;
    let p = DNS_HEADER_SIZE;
    let w = 0;
    let hash = QNAME_HASH_SEED;
    for (;;) {
      if (p >= end) return this.#fail('truncated-question');
      const len = buf[p]!;
      if (len === 0) break;
      if (len > MAX_LABEL_LENGTH) return this.#fail('bad-name');
      if (p + len >= end) return this.#fail('truncated-question');
      // This label plus the root byte still to come.
      if (w + len + 2 > MAX_NAME_LENGTH) return this.#fail('bad-name');
      if (lower[w] !== len) same = false;
      lower[w++] = len;
      hash = qnameHashStep(hash, len);
      const labelEnd = p + 1 + len;
      for (let i = p + 1; i < labelEnd; i++) {
        const c = buf[i]!;
        const lc = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
        if (lower[w] !== lc) same = false;
        lower[w++] = lc;
        hash = qnameHashStep(hash, lc);
      }
      p = labelEnd;
    }
    if (lower[w] !== 0) same = false;
    lower[w++] = 0;
    const qnameEnd = p + 1;
    if (qnameEnd + 4 > end) return this.#fail('truncated-question');

    this.qnameEnd = qnameEnd;
    this.qnameWireLength = w;
    this.qtype = (buf[qnameEnd]! << 8) | buf[qnameEnd + 1]!;
    this.qclass = (buf[qnameEnd + 2]! << 8) | buf[qnameEnd + 3]!;
    this.questionEnd = qnameEnd + 4;
    // `same` held byte by byte up to and including the root byte, so the wire names are equal.
    if (!same) {
      let name = internedQname(hash, lower, w);
      if (name === undefined) {
        name = this.#textOf(lower, w);
        internQname(hash, lower, w, name);
      }
      this.#lastQname = name;
      this.#lastNameUsable = true;
    }
    this.qname = this.#lastQname;
    this.valid = true;
    this.error = undefined;
    if (this.arcount > 0) this.#findOpt();
    return true;
  }

  /**
   * The text form of a lower-cased wire name, with the same escaping as
   * DNSName.toString(), so the text parses back to the same name.
   */
  #textOf(wire: Uint8Array, wireLength: number): string {
    const text = this.#text;
    let t = 0;
    let p = 0;
    while (p < wireLength) {
      const len = wire[p]!;
      if (len === 0) break;
      const labelEnd = p + 1 + len;
      for (let i = p + 1; i < labelEnd; i++) {
        const c = wire[i]!;
        if (c === DOT || c === BACKSLASH) {
          text[t++] = BACKSLASH;
          text[t++] = c;
        } else if (c > 0x20 && c < 0x7f) {
          text[t++] = c;
        } else {
          text[t++] = BACKSLASH;
          text[t++] = DIGIT_0 + ((c / 100) | 0);
          text[t++] = DIGIT_0 + (((c / 10) | 0) % 10);
          text[t++] = DIGIT_0 + (c % 10);
        }
      }
      text[t++] = DOT;
      p = labelEnd;
    }
    return t === 0 ? '.' : text.toString('latin1', 0, t);
  }

  /** The question name as a DNSName, in its original case. Cold path: it allocates. */
  qnameAsDNSName(): DNSName {
    if (!this.valid) {
      throw new DnsPacketError(
        `no question name to read: the last parse failed (${this.error ?? 'nothing parsed yet'}); check valid before asking for the name`,
        this.buf.subarray(0, this.length),
      );
    }
    return DNSName.fromWire(this.buf, this.qnameOffset).name;
  }

  #fail(error: DnsQueryParseError): false {
    this.error = error;
    // qnameLower may now hold part of a different name.
    this.#lastNameUsable = false;
    return false;
  }

  /** Walk the rest of the message to the first OPT record in the additional section. */
  #findOpt(): void {
    const buf = this.buf;
    const end = this.length;
    let p = this.questionEnd;
    for (let i = 1; i < this.qdcount; i++) {
      p = skipWireName(buf, p, end);
      if (p < 0 || p + 4 > end) return;
      p += 4;
    }
    const beforeAdditional = this.ancount + this.nscount;
    const total = beforeAdditional + this.arcount;
    for (let i = 0; i < total; i++) {
      const owner = p;
      p = skipWireName(buf, p, end);
      if (p < 0 || p + 10 > end) return;
      const rdataEnd = p + 10 + ((buf[p + 8]! << 8) | buf[p + 9]!);
      if (rdataEnd > end) return;
      if (i >= beforeAdditional && ((buf[p]! << 8) | buf[p + 1]!) === QType.OPT) {
        this.hasEdns = true;
        this.ednsOffset = owner;
        this.ednsAdditionalIndex = i - beforeAdditional;
        this.ednsUdpPayloadSize = (buf[p + 2]! << 8) | buf[p + 3]!;
        // TTL field of OPT: extended RCODE, version, then the flags word whose top bit is DO.
        this.ednsDo = (buf[p + 6]! & 0x80) !== 0;
        return;
      }
      p = rdataEnd;
    }
  }
}
