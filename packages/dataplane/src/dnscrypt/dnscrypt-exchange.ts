/**
 * The DNSCrypt exchange for one query: decrypting what a client sent
 * (client magic, client public key, half nonce, box) and encrypting the
 * answer back (resolver magic, full nonce, box), with the ISO 7816-4
 * padding (0x80 then zeros) DNSCrypt uses; and the plain certificate query.
 */
import { randomFillSync } from 'node:crypto';
import { sodium } from './dnscrypt-sodium.js';
import type { DNSCryptCertificatePair, DNSCryptContext } from './dnscrypt-context.js';
import { xchachaBeforenm, xchachaOpen, xchachaSeal } from './dnscrypt-xchacha.js';

export const DNSCRYPT_RESOLVER_MAGIC = Buffer.from([0x72, 0x36, 0x66, 0x6e, 0x76, 0x57, 0x6a, 0x38]);
const HALF_NONCE = 12;
const MAC_SIZE = 16;
const QUERY_HEADER_SIZE = 8 + 32 + HALF_NONCE;
const RESPONSE_HEADER_SIZE = 8 + 2 * HALF_NONCE;
const PADDED_BLOCK = 64;
/** TTL of the certificate TXT answer (dnsdist's). */
export const DNSCRYPT_CERTIFICATE_TTL = 7200;

/** What the answer needs from the query: the shared key and the client's half nonce. */
export interface DNSCryptQueryState {
  /** The certificate's exchange version: 1 XSalsa20-Poly1305, 2 XChaCha20-Poly1305. */
  readonly version: 1 | 2;
  readonly sharedKey: Uint8Array;
  readonly clientNonce: Uint8Array;
  /** The encrypted query's size: over UDP the answer may not be larger. */
  readonly encryptedSize: number;
}

export type DNSCryptParsed =
  | { kind: 'encrypted'; query: Buffer; state: DNSCryptQueryState }
  | { kind: 'certificate'; answer: Buffer }
  | { kind: 'invalid'; reason: string };

/** Decrypt a query, or answer the provider's certificate query. */
export function parseDNSCryptQuery(ctx: DNSCryptContext, packet: Uint8Array, now: number = Date.now() / 1000): DNSCryptParsed {
  const pair = packet.length >= QUERY_HEADER_SIZE + MAC_SIZE ? ctx.pairForMagic(packet) : undefined;
  if (pair === undefined) {
    const answer = certificateAnswer(ctx, packet, now);
    return answer === undefined
      ? { kind: 'invalid', reason: 'neither an encrypted query nor the certificate query' }
      : { kind: 'certificate', answer };
  }
  return decryptQuery(pair, packet);
}

function decryptQuery(pair: DNSCryptCertificatePair, packet: Uint8Array): DNSCryptParsed {
  const clientKey = packet.subarray(8, 40);
  const nonce = new Uint8Array(24);
  nonce.set(packet.subarray(40, QUERY_HEADER_SIZE));
  const version = pair.cert.version;
  let sharedKey: Uint8Array | undefined;
  let plain: Uint8Array | undefined;
  try {
    if (version === 2) {
      sharedKey = xchachaBeforenm(clientKey, pair.privateKey);
      plain = xchachaOpen(packet.subarray(QUERY_HEADER_SIZE), nonce, sharedKey);
    } else {
      sharedKey = sodium.crypto_box_beforenm(clientKey, pair.privateKey);
      plain = sodium.crypto_box_open_easy_afternm(packet.subarray(QUERY_HEADER_SIZE), nonce, sharedKey);
    }
  } catch {
    plain = undefined;
  }
  if (plain === undefined || sharedKey === undefined) return { kind: 'invalid', reason: 'the box does not open with this certificate key' };
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (end < 0 || plain[end] !== 0x80) return { kind: 'invalid', reason: 'bad padding' };
  return {
    kind: 'encrypted',
    query: Buffer.from(plain.buffer, plain.byteOffset, end),
    state: { version, sharedKey, clientNonce: Uint8Array.from(packet.subarray(40, QUERY_HEADER_SIZE)), encryptedSize: packet.length },
  };
}

/**
 * Encrypt an answer. Over UDP an answer that does not fit in the query's
 * size becomes its truncated form (header and question, TC set) so the
 * client retries over TCP, as DNSCrypt requires (no amplification).
 */
export function encryptDNSCryptResponse(state: DNSCryptQueryState, response: Uint8Array, tcp: boolean): Buffer {
  const maxSize = tcp ? 65535 : Math.max(state.encryptedSize, 256);
  let body = response;
  if (!tcp && RESPONSE_HEADER_SIZE + MAC_SIZE + body.length + 1 > maxSize) body = truncated(response);
  const available = maxSize - RESPONSE_HEADER_SIZE - MAC_SIZE - body.length;
  let padded = body.length + (PADDED_BLOCK - (body.length % PADDED_BLOCK));
  if (padded - body.length > available) padded = body.length + Math.max(1, available);
  const plain = new Uint8Array(padded);
  plain.set(body);
  plain[body.length] = 0x80;
  const nonce = new Uint8Array(24);
  nonce.set(state.clientNonce);
  randomFillSync(nonce, HALF_NONCE, HALF_NONCE);
  const box =
    state.version === 2 ? xchachaSeal(plain, nonce, state.sharedKey) : sodium.crypto_box_easy_afternm(plain, nonce, state.sharedKey);
  const out = Buffer.allocUnsafe(RESPONSE_HEADER_SIZE + box.length);
  DNSCRYPT_RESOLVER_MAGIC.copy(out, 0);
  out.set(nonce, 8);
  out.set(box, RESPONSE_HEADER_SIZE);
  return out;
}

/** Header and question only, TC set, counts of the other sections zeroed. */
function truncated(response: Uint8Array): Uint8Array {
  const end = questionEnd(response);
  const out = Buffer.from(response.subarray(0, end ?? 12));
  out[2] = out[2]! | 0x02;
  if (end === undefined) out.writeUInt16BE(0, 4);
  out.fill(0, 6, 12);
  return out;
}

function questionEnd(p: Uint8Array): number | undefined {
  if (p.length < 12 || ((p[4]! << 8) | p[5]!) !== 1) return undefined;
  let i = 12;
  while (i < p.length && p[i] !== 0) {
    if ((p[i]! & 0xc0) !== 0) return undefined;
    i += p[i]! + 1;
  }
  i += 5;
  return i <= p.length ? i : undefined;
}

/** The answer to "TXT <provider name>": one TXT record per active certificate valid now; undefined when it is not that query. */
function certificateAnswer(ctx: DNSCryptContext, p: Uint8Array, now: number): Buffer | undefined {
  if (p.length < 12 || (p[2]! & 0x80) !== 0 || ((p[4]! << 8) | p[5]!) !== 1) return undefined;
  const end = questionEnd(p);
  if (end === undefined) return undefined;
  const qtype = (p[end - 4]! << 8) | p[end - 3]!;
  const qclass = (p[end - 2]! << 8) | p[end - 1]!;
  if (qtype !== 16 || qclass !== 1) return undefined;
  const labels: string[] = [];
  for (let i = 12; p[i] !== 0; i += p[i]! + 1) labels.push(Buffer.from(p.subarray(i + 1, i + 1 + p[i]!)).toString('latin1'));
  if (`${labels.join('.')}.`.toLowerCase() !== ctx.providerKey) return undefined;
  const certs = ctx.pairs.filter((c) => c.active && c.cert.validFrom <= now && now <= c.cert.validUntil);
  const rrSize = 2 + 10 + 1 + 124;
  const out = Buffer.alloc(end + certs.length * rrSize);
  out.set(p.subarray(0, end));
  out[2] = (p[2]! & 0x01) | 0x80 | 0x04 | (p[2]! & 0x78); // QR, AA, opcode and RD kept
  out[3] = 0;
  out.writeUInt16BE(certs.length, 6);
  out.fill(0, 8, 12);
  let o = end;
  for (const c of certs) {
    out.writeUInt16BE(0xc00c, o);
    out.writeUInt16BE(16, o + 2);
    out.writeUInt16BE(1, o + 4);
    out.writeUInt32BE(DNSCRYPT_CERTIFICATE_TTL, o + 6);
    out.writeUInt16BE(125, o + 10);
    out[o + 12] = 124;
    c.wire.copy(out, o + 13);
    o += rrSize;
  }
  return out;
}
