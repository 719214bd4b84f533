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

function le(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** Poly1305 one-time authenticator. */
export function poly1305(message: Uint8Array, key: Uint8Array): Buffer {
  const r = le(key.subarray(0, 16)) & CLAMP;
  const s = le(key.subarray(16, 32));
  let acc = 0n;
  for (let i = 0; i < message.length; i += 16) {
    const block = message.subarray(i, Math.min(i + 16, message.length));
    acc = ((acc + le(block) + (1n << BigInt(8 * block.length))) * r) % P1305;
  }
  let tag = (acc + s) & ((1n << 128n) - 1n);
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) {
    out[i] = Number(tag & 0xffn);
    tag >>= 8n;
  }
  return out;
}

/** The XChaCha20 keystream XOR of `data`, starting at byte `offset` of the stream. */
function xchacha20Xor(key: Uint8Array, nonce: Uint8Array, data: Uint8Array, offset: number): Buffer {
  const subkey = hchacha20(key, nonce.subarray(0, 16));
  // OpenSSL's chacha20 IV: 32-bit block counter, then 96 bits of nonce; the 64-bit nonce of the
  // original ChaCha20 is the last 8 bytes with the counter's high word 0.
  const iv = Buffer.alloc(16);
  iv.set(nonce.subarray(16, 24), 8);
  const c = createCipheriv('chacha20', subkey, iv);
  c.update(Buffer.alloc(offset));
  return c.update(data);
}

/** crypto_box_curve25519xchacha20poly1305_beforenm. */
export function xchachaBeforenm(publicKey: Uint8Array, privateKey: Uint8Array): Uint8Array {
  return hchacha20(sodium.crypto_scalarmult(privateKey, publicKey), new Uint8Array(16));
}

/** crypto_box_curve25519xchacha20poly1305_easy_afternm: MAC, then ciphertext. */
export function xchachaSeal(message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer {
  const polyKey = xchacha20Xor(key, nonce, new Uint8Array(32), 0);
  const cipher = xchacha20Xor(key, nonce, message, 32);
  return Buffer.concat([poly1305(cipher, polyKey), cipher]);
}

/** The opened box, or undefined when its MAC does not match. */
export function xchachaOpen(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Buffer | undefined {
  if (box.length < 16) return undefined;
  const polyKey = xchacha20Xor(key, nonce, new Uint8Array(32), 0);
  const cipher = box.subarray(16);
  if (!timingSafeEqual(poly1305(cipher, polyKey), box.subarray(0, 16))) return undefined;
  return xchacha20Xor(key, nonce, cipher, 32);
}
