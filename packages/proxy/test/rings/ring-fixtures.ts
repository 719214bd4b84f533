/**
 * Real DNSQuestion / DNSResponse objects for ring tests: packets encoded
 * with dns-packet, parsed by the real DnsQueryView.
 */
import dnsPacket from 'dns-packet';
import { DnsQueryView, parseAddress } from '@dnsdist-ts/dns';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { DNSQuestion, type Transport } from '@dnsdist-ts/dataplane/query/dns-question.js';
import { DNSResponse } from '@dnsdist-ts/dataplane/query/dns-response.js';
import type { DownstreamServerInfo } from '@dnsdist-ts/dataplane/query/downstream-server-info.js';

export const RD = 0x0100;
export const TC = 0x0200;
export const AA = 0x0400;

export interface QueryOptions {
  name?: string;
  type?: string;
  id?: number;
  /** Header flag bits besides QR (RD, opcode << 11, …). Default RD. */
  flags?: number;
  client?: string;
  port?: number;
  transport?: Transport;
  /** Receive time, ms. */
  at?: number;
}

export function socketAddress(address: string, port: number): SocketAddress {
  return new SocketAddress(parseAddress(address).bytes, port);
}

const LOCAL = socketAddress('127.0.0.1', 53);

/** The wire packet of a query. */
export function queryPacket(name: string, type: string, id: number, flags: number): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags,
    questions: [{ name, type: type as dnsPacket.RecordType, class: 'IN' }],
  });
}

export function makeQuery(options: QueryOptions = {}): DNSQuestion {
  const packet = queryPacket(options.name ?? 'www.example.com', options.type ?? 'A', options.id ?? 4242, options.flags ?? RD);
  const view = new DnsQueryView();
  if (!view.parse(packet)) throw new Error(`test query did not parse: ${view.error}`);
  return new DNSQuestion(
    packet,
    packet.length,
    view,
    socketAddress(options.client ?? '192.0.2.1', options.port ?? 5300),
    LOCAL,
    options.transport ?? 'udp',
    options.at ?? 0,
  );
}

export interface ResponseOptions {
  rcode?: number;
  /** Number of A records in the answer section. */
  answers?: number;
  /** Extra header bits (TC, AA); RD is copied from the query. */
  flags?: number;
  latencyUsec?: number;
  server?: DownstreamServerInfo | null;
  /** Extra bytes appended to the packet, to control its size. */
  padding?: number;
}

export const BACKEND: DownstreamServerInfo = { name: 'b1', addressText: '198.51.100.53:53' };

export function makeResponse(dq: DNSQuestion, options: ResponseOptions = {}): DNSResponse {
  const question = dnsPacket.decode(dq.bytes());
  const q = question.questions![0]!;
  const answers = Array.from({ length: options.answers ?? 0 }, (_, i) => ({
    type: 'A' as const,
    name: q.name,
    ttl: 60,
    data: `192.0.2.${i + 1}`,
  }));
  const flags = (dq.view.flags & RD) | 0x0080 | (options.flags ?? 0) | (options.rcode ?? 0);
  const packet = dnsPacket.encode({ type: 'response', id: dq.view.id, flags, questions: [q], answers });
  const full = options.padding ? Buffer.concat([packet, Buffer.alloc(options.padding)]) : packet;
  const server = options.server === null ? undefined : (options.server ?? BACKEND);
  return new DNSResponse(full, full.length, dq, server, options.latencyUsec ?? 1000);
}
