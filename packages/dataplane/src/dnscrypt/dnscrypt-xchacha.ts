/**
 * X25519-XChaCha20-Poly1305 boxes (DNSCrypt exchange version 2), libsodium's
 * crypto_box_curve25519xchacha20poly1305 *_afternm construction. The
 * libsodium build Node packages ship (libsodium-wrappers) lacks it, so it is
 * put together here: HChaCha20 and Poly1305 written out, the ChaCha20
 * keystream from Node's OpenSSL. Only small packets go through it (queries
 * and answers of at most 64 KiB), so BigInt Poly1305 is fast enough.
 */
import { createCipheriv, timingSafeEqual } from 'node:crypto';
import { sodium } from './dnscrypt-sodium.js';

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

function rotl(v: number, n: number): number {
  return ((v << n) | (v >>> (32 - n))) >>> 0;
}

/** HChaCha20: a 32-byte subkey from a key and a 16-byte input. */
export function hchacha20(key: Uint8Array, input: Uint8Array): Uint8Array {
  const k = Buffer.from(key.buffer, key.byteOffset, 32);
  const n = Buffer.from(input.buffer, input.byteOffset, 16);
  const x = new Uint32Array(16);
  x.set(SIGMA, 0);
  for (let i = 0; i < 8; i++) x[4 + i] = k.readUInt32LE(4 * i);
  for (let i = 0; i < 4; i++) x[12 + i] = n.readUInt32LE(4 * i);
  const qr = (a: number, b: number, c: number, d: number): void => {
    x[a] = (x[a]! + x[b]!) >>> 0;
    x[d] = rotl(x[d]! ^ x[a]!, 16);
    x[c] = (x[c]! + x[d]!) >>> 0;
    x[b] = rotl(x[b]! ^ x[c]!, 12);
    x[a] = (x[a]! + x[b]!) >>> 0;
    x[d] = rotl(x[d]! ^ x[a]!, 8);
    x[c] = (x[c]! + x[d]!) >>> 0;
    x[b] = rotl(x[b]! ^ x[c]!, 7);
  };
  for (let i = 0; i < 10; i++) {
    qr(0, 4, 8, 12);
    qr(1, 5, 9, 13);
    qr(2, 6, 10, 14);
    qr(3, 7, 11, 15);
    qr(0, 5, 10, 15);
    qr(1, 6, 11, 12);
    qr(2, 7, 8, 13);
    qr(3, 4, 9, 14);
  }
  const out = Buffer.alloc(32);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(x[i]!, 4 * i);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(x[12 + i]!, 16 + 4 * i);
  return out;
}

const P1305 = (1n << 130n) - 5n;
const CLAMP = 0x0ffffffc0ffffffc0ffffffc0fffffffn;
const HIBIT = 1n << 128n;
const MASK64 = (1n << 64n) - 1n;
const MASK128 = (1n << 128n) - 1n;

function le(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** Poly1305 one-time authenticator. */
export function poly1305(message: Uint8Array, key: Uint8Array): Buffer {
  const k = Buffer.from(key.buffer, key.byteOffset, 32);
  const r = (k.readBigUInt64LE(0) | (k.readBigUInt64LE(8) << 64n)) & CLAMP;
  const s = k.readBigUInt64LE(16) | (k.readBigUInt64LE(24) << 64n);
  const m = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const full = m.length - (m.length % 16);
  let acc = 0n;
  // Whole blocks read as two 64-bit words: far cheaper than building each BigInt byte by byte.
  for (let i = 0; i < full; i += 16) acc = ((acc + (m.readBigUInt64LE(i) | (m.readBigUInt64LE(i + 8) << 64n)) + HIBIT) * r) % P1305;
  if (full < m.length) {
    const last = m.subarray(full);
    acc = ((acc + le(last) + (1n << BigInt(8 * last.length))) * r) % P1305;
  }
  const tag = (acc + s) & MASK128;
  const out = Buffer.alloc(16);
  out.writeBigUInt64LE(tag & MASK64, 0);
  out.writeBigUInt64LE(tag >> 64n, 8);
  return out;
}

/** The XChaCha20 keystream's first 32 bytes (the Poly1305 key), and `data` XORed with the stream from byte 32. */
function xchacha20(key: Uint8Array, nonce: Uint8Array, data: Uint8Array): { polyKey: Buffer; out: Buffer } {
  const subkey = hchacha20(key, nonce.subarray(0, 16));
  // OpenSSL's chacha20 IV: 32-bit block counter, then 96 bits of nonce; the 64-bit nonce of the
  // original ChaCha20 is the last 8 bytes with the counter's high word 0.
  const iv = Buffer.alloc(16);
  iv.set(nonce.subarray(16, 24), 8);
  const c = createCipheriv('chacha20', subkey, iv);
  const polyKey = c.update(ZERO32);
  return { polyKey, out: c.update(data) };
}

const ZERO32 = Buffer.alloc(32);

/** crypto_box_curve25519xchacha20poly1305_beforenm. */
export function xchachaBeforenm(publicKey: Uint8Array, privateKey: Uint8Array): Uint8Array {
  return hchacha20(sodium.crypto_scalarmult(privateKey, publicKey), new Uint8Array(16));
}

/** crypto_box_curve25519xchacha20poly1305_easy_afternm: MAC, then ciphertext. */
export function xchachaSeal(message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer {
  const { polyKey, out } = xchacha20(key, nonce, message);
  return Buffer.concat([poly1305(out, polyKey), out]);
}

/** The opened box, or undefined when its MAC does not match. */
export function xchachaOpen(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer | undefined {
  if (box.length < 16) return undefined;
  const cipher = box.subarray(16);
  const { polyKey, out } = xchacha20(key, nonce, cipher);
  if (!timingSafeEqual(poly1305(cipher, polyKey), box.subarray(0, 16))) return undefined;
  return out;
}
