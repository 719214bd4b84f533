/**
 * The binary (version 2) PROXY protocol header, as HAProxy's
 * proxy-protocol.txt defines it and dnsdist sends and accepts it: a 16-byte
 * fixed part (signature, version and command, family and protocol, length
 * of what follows), the two addresses and ports, then type-length-value
 * entries. Only the families dnsdist uses are written (IPv4 and IPv6 over
 * TCP or UDP, and LOCAL for health checks).
 */

/** The 12-byte signature every version 2 header starts with. */
export const PROXY_PROTOCOL_V2_SIGNATURE: readonly number[] = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/** Signature, version/command, family/protocol and the 16-bit length. */
export const PROXY_PROTOCOL_FIXED_SIZE = 16;

/** dnsdist's default for setProxyProtocolMaximumPayloadSize (and its floor). */
export const PROXY_PROTOCOL_DEFAULT_MAX_PAYLOAD = 512;

/** One type-length-value entry (dnsdist's ProxyProtocolValue). */
export interface ProxyProtocolValue {
  type: number;
  value: Uint8Array;
}

/** What a received header says. `local` headers carry no addresses. */
export interface ProxyProtocolHeader {
  local: boolean;
  tcp: boolean;
  source: Uint8Array | undefined;
  sourcePort: number;
  destination: Uint8Array | undefined;
  destinationPort: number;
  values: ProxyProtocolValue[];
  /** Bytes of the header, the DNS message starts there. */
  size: number;
}

/** A header that cannot be written (mixed families, a value too long). */
export class ProxyProtocolEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyProtocolEncodeError';
  }
}

/** Bytes the PROXY header for these addresses and values takes. */
export function proxyProtocolHeaderSize(addressLength: number, values: readonly ProxyProtocolValue[] | undefined): number {
  let size = PROXY_PROTOCOL_FIXED_SIZE + addressLength * 2 + 4;
  if (values) for (const v of values) size += 3 + v.value.length;
  return size;
}

function writeFixed(out: Uint8Array, offset: number, versionCommand: number, familyProtocol: number, contentLength: number): void {
  for (let i = 0; i < 12; i++) out[offset + i] = PROXY_PROTOCOL_V2_SIGNATURE[i]!;
  out[offset + 12] = versionCommand;
  out[offset + 13] = familyProtocol;
  out[offset + 14] = contentLength >> 8;
  out[offset + 15] = contentLength & 0xff;
}

/** The LOCAL header dnsdist puts before its health-check queries (no address, length 0). */
export function makeLocalProxyProtocolHeader(): Buffer {
  const out = Buffer.alloc(PROXY_PROTOCOL_FIXED_SIZE);
  writeFixed(out, 0, 0x20, 0x00, 0);
  return out;
}

/**
 * Write a PROXY command header for a connection from `source` to
 * `destination` into `out` at `offset`; returns the bytes written. The
 * caller sizes `out` with proxyProtocolHeaderSize.
 * @throws ProxyProtocolEncodeError when the families differ or a value is longer than 65,535 bytes.
 */
export function writeProxyProtocolHeader(
  out: Uint8Array,
  offset: number,
  tcp: boolean,
  source: Uint8Array,
  sourcePort: number,
  destination: Uint8Array,
  destinationPort: number,
  values: readonly ProxyProtocolValue[] | undefined,
): number {
  if (source.length !== destination.length || (source.length !== 4 && source.length !== 16)) {
    throw new ProxyProtocolEncodeError(
      `cannot write a proxy protocol header from a ${source.length * 8}-bit to a ${destination.length * 8}-bit address: both must be IPv4 or both IPv6`,
    );
  }
  const size = proxyProtocolHeaderSize(source.length, values);
  const contentLength = size - PROXY_PROTOCOL_FIXED_SIZE;
  if (contentLength > 0xffff) throw new ProxyProtocolEncodeError(`proxy protocol values too large: ${contentLength} bytes, at most 65,535`);
  writeFixed(out, offset, 0x21, (source.length === 4 ? 0x10 : 0x20) | (tcp ? 0x01 : 0x02), contentLength);
  let p = offset + PROXY_PROTOCOL_FIXED_SIZE;
  out.set(source, p);
  p += source.length;
  out.set(destination, p);
  p += destination.length;
  out[p++] = sourcePort >> 8;
  out[p++] = sourcePort & 0xff;
  out[p++] = destinationPort >> 8;
  out[p++] = destinationPort & 0xff;
  if (values) {
    for (const v of values) {
      out[p++] = v.type;
      out[p++] = v.value.length >> 8;
      out[p++] = v.value.length & 0xff;
      out.set(v.value, p);
      p += v.value.length;
    }
  }
  return p - offset;
}

/** The PROXY header for a connection, in a buffer of its own. */
export function makeProxyProtocolHeader(
  tcp: boolean,
  source: Uint8Array,
  sourcePort: number,
  destination: Uint8Array,
  destinationPort: number,
  values?: readonly ProxyProtocolValue[],
): Buffer {
  const out = Buffer.alloc(proxyProtocolHeaderSize(source.length, values));
  writeProxyProtocolHeader(out, 0, tcp, source, sourcePort, destination, destinationPort, values);
  return out;
}

/** parseProxyProtocolHeader's verdicts when no header could be read. */
export const ProxyProtocolParse = {
  /** Not a version 2 header, or a malformed one. */
  Invalid: -1,
  /** So far a valid header, but more bytes are needed (TCP). */
  NeedMore: -2,
  /** Longer than the maximum payload size allowed. */
  TooLarge: -3,
} as const;

/**
 * Read a header at the start of `data[0..length)`: the header, or one of
 * ProxyProtocolParse's codes. `maxPayload` bounds the part after the fixed
 * 16 bytes (dnsdist's setProxyProtocolMaximumPayloadSize).
 */
export function parseProxyProtocolHeader(data: Uint8Array, length: number, maxPayload = 0xffff): ProxyProtocolHeader | number {
  const n = Math.min(length, 12);
  for (let i = 0; i < n; i++) if (data[i] !== PROXY_PROTOCOL_V2_SIGNATURE[i]) return ProxyProtocolParse.Invalid;
  if (length < PROXY_PROTOCOL_FIXED_SIZE) return ProxyProtocolParse.NeedMore;
  const versionCommand = data[12]!;
  if (versionCommand >> 4 !== 2) return ProxyProtocolParse.Invalid;
  const command = versionCommand & 0x0f;
  if (command > 1) return ProxyProtocolParse.Invalid;
  const contentLength = (data[14]! << 8) | data[15]!;
  if (contentLength > maxPayload) return ProxyProtocolParse.TooLarge;
  const size = PROXY_PROTOCOL_FIXED_SIZE + contentLength;
  if (length < size) return ProxyProtocolParse.NeedMore;
  const header: ProxyProtocolHeader = {
    local: command === 0,
    tcp: false,
    source: undefined,
    sourcePort: 0,
    destination: undefined,
    destinationPort: 0,
    values: [],
    size,
  };
  // A LOCAL header's content is to be skipped whatever it holds.
  if (header.local) return header;
  const familyProtocol = data[13]!;
  const family = familyProtocol >> 4;
  const protocol = familyProtocol & 0x0f;
  if ((family !== 1 && family !== 2) || (protocol !== 1 && protocol !== 2)) return ProxyProtocolParse.Invalid;
  header.tcp = protocol === 1;
  const addrLength = family === 1 ? 4 : 16;
  let p = PROXY_PROTOCOL_FIXED_SIZE;
  if (contentLength < addrLength * 2 + 4) return ProxyProtocolParse.Invalid;
  header.source = Uint8Array.prototype.slice.call(data, p, p + addrLength);
  p += addrLength;
  header.destination = Uint8Array.prototype.slice.call(data, p, p + addrLength);
  p += addrLength;
  header.sourcePort = (data[p]! << 8) | data[p + 1]!;
  header.destinationPort = (data[p + 2]! << 8) | data[p + 3]!;
  p += 4;
  while (p < size) {
    if (size - p < 3) return ProxyProtocolParse.Invalid;
    const type = data[p]!;
    const len = (data[p + 1]! << 8) | data[p + 2]!;
    p += 3;
    if (size - p < len) return ProxyProtocolParse.Invalid;
    header.values.push({ type, value: Uint8Array.prototype.slice.call(data, p, p + len) });
    p += len;
  }
  return header;
}
