/**
 * Queries and responses for the packet cache tests, encoded by dns-packet
 * (an independent implementation), wrapped the way the query path wraps
 * them: a DNSQuestion over a parsed DnsQueryView.
 */
import dnsPacket from 'dns-packet';
import { DnsQueryView } from '@dnsdist-ts/dns';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { DNSQuestion, type Transport } from '@dnsdist-ts/dataplane/query/dns-question.js';

export type RecordType = dnsPacket.RecordType;

export interface QueryOptions {
  id?: number;
  /** Header flags word; RD by default. */
  flags?: number;
  /** Add an OPT record with this UDP payload size. */
  edns?: number;
  ednsDo?: boolean;
  /** EDNS options (implies an OPT record, payload 1232 unless `edns`). */
  options?: { code: number; data: Buffer }[];
  transport?: Transport;
}

const CLIENT = new SocketAddress(Uint8Array.of(192, 0, 2, 10), 53000);
const LOCAL = new SocketAddress(Uint8Array.of(127, 0, 0, 1), 53);

/** A query as the proxy holds it after receiving it. */
export function query(name: string, type: RecordType = 'A', opts: QueryOptions = {}): DNSQuestion {
  const withOpt = opts.edns !== undefined || opts.ednsDo !== undefined || opts.options !== undefined;
  const packet = dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 0x1234,
    flags: opts.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    additionals: withOpt
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: opts.edns ?? 1232,
            flags: opts.ednsDo ? dnsPacket.DNSSEC_OK : 0,
            options: opts.options ?? [],
          } as dnsPacket.Answer,
        ]
      : [],
  });
  const view = new DnsQueryView();
  if (!view.parse(packet, packet.length)) throw new Error(`fixture query for ${name} did not parse: ${view.error}`);
  return new DNSQuestion(packet, packet.length, view, CLIENT, LOCAL, opts.transport ?? 'udp', 0);
}

export interface ResponseParts {
  answers?: dnsPacket.Answer[];
  authorities?: dnsPacket.Answer[];
  additionals?: dnsPacket.Answer[];
  rcode?: number;
  /** Extra header flag bits (e.g. TC). */
  flags?: number;
  /** Echo the query's OPT record at the end of the additional section. */
  echoOpt?: boolean;
}

/** The backend's answer to `dq`: same ID and question (name as asked), QR and RA set. */
export function response(dq: DNSQuestion, parts: ResponseParts = {}): Buffer {
  const q = dnsPacket.decode(dq.bytes());
  const additionals = [...(parts.additionals ?? [])];
  if (parts.echoOpt) additionals.push({ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as dnsPacket.Answer);
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: ((q.flags ?? 0) & 0x0110) | 0x0080 | (parts.flags ?? 0) | (parts.rcode ?? 0),
    questions: q.questions,
    answers: parts.answers ?? [],
    authorities: parts.authorities ?? [],
    additionals,
  });
}

export function a(name: string, ttl: number, address = '192.0.2.1'): dnsPacket.Answer {
  return { name, type: 'A', ttl, data: address };
}

export function soa(name: string, ttl: number, minimum = 300): dnsPacket.Answer {
  return {
    name,
    type: 'SOA',
    ttl,
    data: { mname: `ns.${name}`, rname: `hostmaster.${name}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum },
  };
}

/** Decode a served answer. */
export function decode(buf: Buffer): dnsPacket.Packet {
  return dnsPacket.decode(buf);
}

/** The RCODE in a served answer's header. */
export function rcodeOf(buf: Buffer): number {
  return buf[3]! & 0x0f;
}

/** TTLs of every record, sections in order, OPT excluded. */
export function ttls(buf: Buffer): number[] {
  const p = dnsPacket.decode(buf);
  return [...(p.answers ?? []), ...(p.authorities ?? []), ...(p.additionals ?? [])]
    .filter((r) => r.type !== 'OPT')
    .map((r) => (r as { ttl?: number }).ttl ?? -1);
}

/** A settable clock in whole seconds. */
export class TestClock {
  seconds: number;
  constructor(start = 1_000_000) {
    this.seconds = start;
  }
  readonly now = (): number => this.seconds;
  advance(s: number): void {
    this.seconds += s;
  }
}

export const Rcode = { NoError: 0, ServFail: 2, NXDomain: 3, Refused: 5 } as const;
export const TC = dnsPacket.TRUNCATED_RESPONSE;
export const RD = dnsPacket.RECURSION_DESIRED;
export const CD = dnsPacket.CHECKING_DISABLED;
