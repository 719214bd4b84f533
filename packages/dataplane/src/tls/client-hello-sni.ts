/** The largest first TLS record worth waiting for (a record is at most 2^14 bytes plus its header and expansion). */
export const MAX_CLIENT_HELLO_RECORD = 5 + 16384 + 2048;

/** What the start of a TLS connection tells: not yet enough bytes, or the SNI (possibly ""). */
export type ClientHelloPeek = { complete: false } | { complete: true; serverName: string };

/**
 * The server name (SNI) of a TLS ClientHello, read from the first bytes of a
 * connection before the TLS library sees them. OpenSSL (and so Node) does
 * not report the SNI of a resumed TLS 1.2 session, while dnsdist routes on
 * it; reading it here gives the name the client sent on every handshake.
 * Anything that is not a ClientHello in one record yields "" (the handshake
 * itself then succeeds or fails as it would).
 */
export function peekClientHelloSni(buf: Buffer): ClientHelloPeek {
  if (buf.length < 5) return buf.length > 0 && buf[0] !== 0x16 ? { complete: true, serverName: '' } : { complete: false };
  if (buf[0] !== 0x16) return { complete: true, serverName: '' };
  const recordLength = buf.readUInt16BE(3);
  const end = 5 + recordLength;
  if (buf.length < end) return end > MAX_CLIENT_HELLO_RECORD ? { complete: true, serverName: '' } : { complete: false };
  return { complete: true, serverName: sniOf(buf, 5, end) };
}

function sniOf(b: Buffer, start: number, end: number): string {
  // Handshake header: type 1 (ClientHello), 3-byte length.
  if (end - start < 4 || b[start] !== 1) return '';
  let p = start + 4;
  p += 2 + 32; // client_version, random
  if (p + 1 > end) return '';
  p += 1 + b[p]!; // session_id
  if (p + 2 > end) return '';
  p += 2 + b.readUInt16BE(p); // cipher_suites
  if (p + 1 > end) return '';
  p += 1 + b[p]!; // compression_methods
  if (p + 2 > end) return '';
  const extEnd = Math.min(end, p + 2 + b.readUInt16BE(p));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    p += 4;
    if (p + len > extEnd) return '';
    if (type === 0) {
      // server_name: list length, then entries of (type, length, name); host_name is type 0.
      let q = p + 2;
      const listEnd = Math.min(p + len, p + 2 + (len >= 2 ? b.readUInt16BE(p) : 0));
      while (q + 3 <= listEnd) {
        const nameType = b[q]!;
        const nameLen = b.readUInt16BE(q + 1);
        q += 3;
        if (q + nameLen > listEnd) return '';
        if (nameType === 0) return b.toString('latin1', q, q + nameLen);
        q += nameLen;
      }
      return '';
    }
    p += len;
  }
  return '';
}
