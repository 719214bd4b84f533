/**
 * The proxy protocol header dnsdist puts before what it sends to a
 * `useProxyProtocol` backend: the client's source and destination (as the
 * query path sees them, so those of an incoming proxy header when there was
 * one), the transport, and the query's TLVs. Over UDP every datagram
 * carries it; over TCP it opens the connection.
 */
import { makeProxyProtocolHeader, proxyProtocolHeaderSize, writeProxyProtocolHeader, type ProxyProtocolValue } from '@dnsdist-ts/dns';
import type { DNSQuestion } from '../query/dns-question.js';

/** The header for a TCP connection carrying `dq`, or undefined when the client's addresses mix IPv4 and IPv6 (dnsdist drops the query). */
export function makeQueryProxyHeader(dq: DNSQuestion, tcp: boolean): Buffer | undefined {
  if (dq.remote.family !== dq.local.family) return undefined;
  return makeProxyProtocolHeader(tcp, dq.remote.bytes, dq.remote.port, dq.local.bytes, dq.local.port, dq.proxyProtocolValues);
}

/** Can a connection opened with `sent` values carry a query with `wanted`? (Same types and bytes, same order.) */
export function sameProxyProtocolValues(
  sent: readonly ProxyProtocolValue[] | undefined,
  wanted: readonly ProxyProtocolValue[] | undefined,
): boolean {
  const a = sent ?? [];
  const b = wanted ?? [];
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.type !== y.type || !Buffer.from(x.value.buffer, x.value.byteOffset, x.value.byteLength).equals(y.value)) return false;
  }
  return true;
}

/**
 * A datagram made of the header and the query, assembled in a buffer kept
 * by the backend (the UDP endpoint copies or sends it before returning).
 */
export class ProxiedDatagram {
  #buffer = Buffer.allocUnsafe(0);
  /** Bytes of the datagram after the last successful prepare. */
  length = 0;

  get buffer(): Buffer {
    return this.#buffer;
  }

  /** Header then `packet[0..length)`; false when no header can be written for this client (mixed families). */
  prepare(dq: DNSQuestion, packet: Buffer, length: number): boolean {
    if (dq.remote.family !== dq.local.family) return false;
    const headerSize = proxyProtocolHeaderSize(dq.remote.bytes.length, dq.proxyProtocolValues);
    const size = headerSize + length;
    if (this.#buffer.length < size) this.#buffer = Buffer.allocUnsafe(Math.max(size, 1024));
    writeProxyProtocolHeader(
      this.#buffer,
      0,
      // The client's transport, not the one to the backend: a DoH query forwarded over UDP says TCP.
      dq.overTcp(),
      dq.remote.bytes,
      dq.remote.port,
      dq.local.bytes,
      dq.local.port,
      dq.proxyProtocolValues,
    );
    packet.copy(this.#buffer, headerSize, 0, length);
    this.length = size;
    return true;
  }
}
