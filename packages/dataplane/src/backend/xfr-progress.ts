import { DNS_HEADER_SIZE, dnsMessageEnd, QType, skipWireName } from '@dnsdist-ts/dns';

/** CLASS IN. */
const CLASS_IN = 1;

/** Is this query type a zone transfer (AXFR or IXFR), whose answer may span several TCP messages? */
export function isXfrQType(qtype: number): boolean {
  return qtype === QType.AXFR || qtype === QType.IXFR;
}

function u16(buf: Uint8Array, offset: number): number {
  return (buf[offset]! << 8) | buf[offset + 1]!;
}

/**
 * Where a zone transfer streamed by a backend stands, message after message,
 * to know which message ends it. dnsdist 1.7.3's rule, kept as it is so that
 * clients see the same messages: a message with a non-zero RCODE ends the
 * transfer; otherwise every IN SOA record of the answer sections is counted,
 * the first one's serial is the zone's, and the transfer ends when that
 * serial comes back as the second SOA of all (an AXFR: SOA … SOA) or for the
 * third time (an IXFR: the new SOA opens it, repeats at the start of the
 * last difference sequence and closes it). A serial of 0 is not remembered
 * (dnsdist takes 0 for "no SOA seen yet"). A message that is not a
 * well-formed DNS message is passed on but counts nothing.
 */
export class XfrProgress {
  /** IN SOA records seen so far. */
  soaCount = 0;
  /** The first SOA's serial; 0 while none has been seen. */
  zoneSerial = 0;
  /** Times the zone's serial has been seen. */
  zoneSerialCount = 0;
  /** Messages passed on so far. */
  messages = 0;

  /** Account one message of the transfer; true when it is the last one. */
  onMessage(buf: Uint8Array, length: number): boolean {
    this.messages++;
    if (length < DNS_HEADER_SIZE || dnsMessageEnd(buf, length) < 0) return false;
    if ((buf[3]! & 0x0f) !== 0) return true;
    let p = DNS_HEADER_SIZE;
    for (let i = u16(buf, 4); i > 0; i--) p = skipWireName(buf, p, length) + 4;
    let done = false;
    for (let i = u16(buf, 6); i > 0; i--) {
      const fixed = skipWireName(buf, p, length);
      const rdata = fixed + 10;
      const next = rdata + u16(buf, fixed + 8);
      if (u16(buf, fixed) === QType.SOA && u16(buf, fixed + 2) === CLASS_IN) {
        const serial = soaSerial(buf, rdata, next);
        if (serial !== undefined && this.#onSoa(serial)) done = true;
      }
      p = next;
    }
    return done;
  }

  #onSoa(serial: number): boolean {
    this.soaCount++;
    if (this.zoneSerial === 0) {
      this.zoneSerialCount++;
      this.zoneSerial = serial;
      return false;
    }
    if (serial !== this.zoneSerial) return false;
    this.zoneSerialCount++;
    return this.soaCount === 2 || this.zoneSerialCount === 3;
  }
}

/** The SERIAL of SOA RDATA at [start, end): after the MNAME and RNAME names. */
function soaSerial(buf: Uint8Array, start: number, end: number): number | undefined {
  const afterMname = skipWireName(buf, start, end);
  if (afterMname < 0) return undefined;
  const afterRname = skipWireName(buf, afterMname, end);
  if (afterRname < 0 || afterRname + 4 > end) return undefined;
  return ((buf[afterRname]! << 24) | (buf[afterRname + 1]! << 16) | (buf[afterRname + 2]! << 8) | buf[afterRname + 3]!) >>> 0;
}
