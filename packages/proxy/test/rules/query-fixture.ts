/**
 * Real DNS packets for the rules tests: queries encoded by dns-packet,
 * parsed by DnsQueryView and wrapped in DNSQuestion / DNSResponse exactly as
 * the query path does.
 */
import { DNSName, DnsQueryView, parseAddress } from '@dnsdist-ts/dns';
import dnsPacket from 'dns-packet';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { DNSQuestion, type Transport } from '@dnsdist-ts/dataplane/query/dns-question.js';
import { DNSResponse } from '@dnsdist-ts/dataplane/query/dns-response.js';

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_AD = 0x0020;
export const FLAG_CD = 0x0010;

export interface QueryShape {
  name?: string;
  type?: string;
  qclass?: string;
  id?: number;
  /** The flags word without QR (opcode bits included). Default RD. */
  flags?: number;
  /** Add an OPT record (with DO when 'do'). */
  edns?: boolean | 'do';
  transport?: Transport;
  remote?: string;
  remotePort?: number;
  local?: string;
  localPort?: number;
  receivedAt?: number;
}

export function encodeQuery(shape: QueryShape = {}): Buffer {
  if (shape.name?.includes('\\')) return encodeEscapedQuery(shape);
  return dnsPacket.encode({
    type: 'query',
    id: shape.id ?? 0x1234,
    flags: shape.flags ?? FLAG_RD,
    questions: [
      { type: (shape.type ?? 'A') as dnsPacket.RecordType, name: shape.name ?? 'www.example.com', class: (shape.qclass ?? 'IN') as 'IN' },
    ],
    additionals: shape.edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: shape.edns === 'do' ? dnsPacket.DNSSEC_OK : 0 } as dnsPacket.Answer]
      : [],
  });
}

/**
 * dns-packet reads "\\." in names as a label break; names with escapes are
 * laid out here with DNSName's wire form instead (type A, class IN, no EDNS).
 */
function encodeEscapedQuery(shape: QueryShape): Buffer {
  const name = DNSName.fromString(shape.name!).toWire();
  const out = Buffer.alloc(12 + name.length + 4);
  out.writeUInt16BE(shape.id ?? 0x1234, 0);
  out.writeUInt16BE(shape.flags ?? FLAG_RD, 2);
  out.writeUInt16BE(1, 4);
  name.copy(out, 12);
  out.writeUInt16BE(1, 12 + name.length); // QTYPE A
  out.writeUInt16BE(1, 14 + name.length); // QCLASS IN
  return out;
}

/** A parsed query as the query path hands it to the rules. */
export function makeQuery(shape: QueryShape = {}): DNSQuestion {
  const packet = encodeQuery(shape);
  const view = new DnsQueryView();
  if (!view.parse(packet, packet.length)) throw new Error(`test query did not parse: ${view.error}`);
  const remote = new SocketAddress(parseAddress(shape.remote ?? '192.0.2.1').bytes, shape.remotePort ?? 5353);
  const local = new SocketAddress(parseAddress(shape.local ?? '127.0.0.1').bytes, shape.localPort ?? 53);
  return new DNSQuestion(packet, packet.length, view, remote, local, shape.transport ?? 'udp', shape.receivedAt ?? performance.now());
}

/** A backend answer to `dq` with `rcode` and the given flags on top of QR. */
export function makeResponse(dq: DNSQuestion, rcode = 0, flags = FLAG_RD | FLAG_RA): DNSResponse {
  const decoded = dnsPacket.decode(dq.bytes());
  const packet = dnsPacket.encode({
    type: 'response',
    id: decoded.id,
    flags: flags | rcode,
    questions: decoded.questions,
    answers: rcode === 0 ? [{ type: 'A', name: decoded.questions![0]!.name, ttl: 300, data: '192.0.2.10' }] : [],
  });
  return new DNSResponse(packet, packet.length, dq, { name: 'b1', addressText: '127.0.0.1:5300' }, 1000);
}

export function flagsOf(packet: Uint8Array): number {
  return (packet[2]! << 8) | packet[3]!;
}

/** A clock the test moves by hand (milliseconds). */
export class ManualClock {
  now = 1_000_000;
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** What the tests read from dns-packet's decoder (its typings leave out rcode and record data). */
export interface DecodedMessage {
  id: number;
  type: 'query' | 'response';
  rcode: string;
  flag_aa: boolean;
  flag_tc: boolean;
  flag_rd: boolean;
  flag_ra: boolean;
  flag_ad: boolean;
  flag_cd: boolean;
  questions: { name: string; type: string; class: string }[];
  answers: { name: string; type: string; class: string; ttl: number; data: unknown }[];
}

export function decode(packet: Uint8Array): DecodedMessage {
  return dnsPacket.decode(Buffer.from(packet)) as unknown as DecodedMessage;
}
