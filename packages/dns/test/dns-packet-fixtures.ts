/**
 * Packets for the wire-format tests, encoded by dns-packet (an independent
 * implementation) or written out byte by byte where dns-packet cannot
 * express the case.
 */
import dnsPacket from 'dns-packet';
import fc from 'fast-check';

/** Record types dns-packet encodes; its typings leave out ANY, which it handles. */
export type RecordType = dnsPacket.RecordType | 'ANY';

/** What dns-packet's decode really returns: its typings leave out the rcode text. */
export type Decoded = dnsPacket.DecodedPacket & { rcode: string };

export function decode(pkt: Buffer): Decoded {
  return dnsPacket.decode(pkt) as Decoded;
}

/** The data of a decoded record whatever its type. */
export function dataOf(record: dnsPacket.Answer): unknown {
  return (record as { data?: unknown }).data;
}

export interface QueryOptions {
  id?: number;
  flags?: number;
  qclass?: 'IN' | 'CH' | 'HS' | 'ANY';
  /** Add an OPT record with this UDP payload size. */
  edns?: number;
  /** Set DO in that OPT record. */
  ednsDo?: boolean;
}

/** A query for `name`/`type`, encoded by dns-packet. */
export function encodeQuery(name: string, type: RecordType, opts: QueryOptions = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 0x1234,
    flags: opts.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as dnsPacket.RecordType, class: opts.qclass ?? 'IN' }],
    additionals:
      opts.edns === undefined
        ? []
        : [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: opts.edns,
              flags: opts.ednsDo ? dnsPacket.DNSSEC_OK : 0,
            } as dnsPacket.Answer,
          ],
  });
}

/** Header bytes: id, flags, then the four counts. */
export function header(id: number, flags: number, qd: number, an: number, ns: number, ar: number): number[] {
  const words = [id, flags, qd, an, ns, ar];
  return words.flatMap((w) => [(w >>> 8) & 0xff, w & 0xff]);
}

/** Wire form of a name given as raw labels (so labels may hold dots, backslashes or any byte). */
export function wireName(labels: (string | number[])[]): number[] {
  const out: number[] = [];
  for (const label of labels) {
    const bytes = typeof label === 'string' ? [...Buffer.from(label, 'latin1')] : label;
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  return out;
}

export const u16 = (n: number): number[] => [(n >>> 8) & 0xff, n & 0xff];
export const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** A hostname label dns-packet round-trips exactly: letters (both cases), digits, '-' and '_'. */
export const labelArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,63}$/);

/** Names of 1-4 such labels, kept under 255 wire bytes, or the root. */
export const nameArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant('.') },
  {
    weight: 9,
    arbitrary: fc
      .array(labelArb, { minLength: 1, maxLength: 4 })
      .filter((labels) => labels.reduce((n, l) => n + l.length + 1, 1) <= 255)
      .map((labels) => labels.join('.')),
  },
);

/** dns-packet gives names without the trailing dot, and '.' for the root. */
export function presentation(name: string): string {
  return name === '.' ? '.' : `${name.toLowerCase()}.`;
}
