/**
 * DNSCrypt resolver certificates (protocol v2, as dnsdist 1.7 writes them):
 * 124 bytes, "DNSC", the exchange version, the minor version, an Ed25519
 * signature by the provider key, then the signed part: the resolver's
 * X25519 public key, the client magic, the serial and the validity window.
 */
import { sodium } from './dnscrypt-sodium.js';
import { DNSCryptError } from './dnscrypt-errors.js';

export const DNSCRYPT_CERT_MAGIC = Buffer.from('DNSC', 'latin1');
export const DNSCRYPT_CERT_SIZE = 124;
export const DNSCRYPT_SIGNATURE_SIZE = 64;
export const DNSCRYPT_PUBLIC_KEY_SIZE = 32;
export const DNSCRYPT_CLIENT_MAGIC_SIZE = 8;
const SIGNED_OFFSET = 8 + DNSCRYPT_SIGNATURE_SIZE;
const SIGNED_SIZE = DNSCRYPT_CERT_SIZE - SIGNED_OFFSET;

/** DNSCryptExchangeVersion: 1 is X25519-XSalsa20Poly1305, 2 is X25519-XChaCha20Poly1305. */
export const DNSCryptExchangeVersion = { VERSION1: 1, VERSION2: 2 } as const;
export type DNSCryptExchangeVersionCode = 1 | 2;

/** A resolver certificate, decoded. */
export interface DNSCryptCertificate {
  version: DNSCryptExchangeVersionCode;
  minorVersion: number;
  signature: Uint8Array;
  resolverPublicKey: Uint8Array;
  clientMagic: Uint8Array;
  serial: number;
  validFrom: number;
  validUntil: number;
}

/** Wait for libsodium (once per process). */
export function sodiumReady(): Promise<void> {
  return sodium.ready;
}

/** The certificate's 124 wire bytes (what the TXT answer and the certificate file hold). */
export function encodeCertificate(cert: DNSCryptCertificate): Buffer {
  const out = Buffer.alloc(DNSCRYPT_CERT_SIZE);
  DNSCRYPT_CERT_MAGIC.copy(out, 0);
  out.writeUInt16BE(cert.version, 4);
  out.writeUInt16BE(cert.minorVersion, 6);
  out.set(cert.signature, 8);
  writeSigned(out, cert);
  return out;
}

function writeSigned(out: Buffer, cert: DNSCryptCertificate): void {
  out.set(cert.resolverPublicKey, SIGNED_OFFSET);
  out.set(cert.clientMagic, SIGNED_OFFSET + 32);
  out.writeUInt32BE(cert.serial >>> 0, SIGNED_OFFSET + 40);
  out.writeUInt32BE(cert.validFrom >>> 0, SIGNED_OFFSET + 44);
  out.writeUInt32BE(cert.validUntil >>> 0, SIGNED_OFFSET + 48);
}

/**
 * Decode 124 certificate bytes.
 * @throws DNSCryptError when the size, magic or exchange version is wrong.
 */
export function decodeCertificate(bytes: Uint8Array, origin = 'certificate'): DNSCryptCertificate {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length !== DNSCRYPT_CERT_SIZE)
    throw new DNSCryptError(`${origin}: a DNSCrypt certificate is ${DNSCRYPT_CERT_SIZE} bytes, got ${b.length}`, origin);
  if (!b.subarray(0, 4).equals(DNSCRYPT_CERT_MAGIC))
    throw new DNSCryptError(`${origin}: not a DNSCrypt certificate (it does not start with "DNSC")`, origin);
  const version = b.readUInt16BE(4);
  if (version !== 1 && version !== 2)
    throw new DNSCryptError(`${origin}: unknown DNSCrypt exchange version ${version} (1 or 2 are known)`, origin);
  return {
    version,
    minorVersion: b.readUInt16BE(6),
    signature: Uint8Array.from(b.subarray(8, SIGNED_OFFSET)),
    resolverPublicKey: Uint8Array.from(b.subarray(SIGNED_OFFSET, SIGNED_OFFSET + 32)),
    clientMagic: Uint8Array.from(b.subarray(SIGNED_OFFSET + 32, SIGNED_OFFSET + 40)),
    serial: b.readUInt32BE(SIGNED_OFFSET + 40),
    validFrom: b.readUInt32BE(SIGNED_OFFSET + 44),
    validUntil: b.readUInt32BE(SIGNED_OFFSET + 48),
  };
}

/** Whether the provider's Ed25519 public key signed this certificate. */
export function verifyCertificate(cert: DNSCryptCertificate, providerPublicKey: Uint8Array): boolean {
  const signed = encodeCertificate(cert).subarray(SIGNED_OFFSET, SIGNED_OFFSET + SIGNED_SIZE);
  return sodium.crypto_sign_verify_detached(cert.signature, signed, providerPublicKey);
}

/** A resolver key pair (X25519): what generateDNSCryptCertificate writes to its private key file. */
export interface ResolverKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** The X25519 public key of a resolver private key. */
export function resolverPublicKeyOf(privateKey: Uint8Array): Uint8Array {
  return sodium.crypto_scalarmult_base(privateKey);
}

/**
 * Make and sign a resolver certificate with a new resolver key pair. As
 * dnsdist, the client magic is the first 8 bytes of the resolver public key.
 */
export function generateCertificate(
  providerPrivateKey: Uint8Array,
  serial: number,
  validFrom: number,
  validUntil: number,
  version: DNSCryptExchangeVersionCode = 1,
): { cert: DNSCryptCertificate; keys: ResolverKeyPair } {
  const kp = sodium.crypto_box_keypair();
  const keys = { publicKey: kp.publicKey, privateKey: kp.privateKey };
  return { cert: signCertificate(providerPrivateKey, keys.publicKey, serial, validFrom, validUntil, version), keys };
}

/** Sign a certificate for an existing resolver public key. */
export function signCertificate(
  providerPrivateKey: Uint8Array,
  resolverPublicKey: Uint8Array,
  serial: number,
  validFrom: number,
  validUntil: number,
  version: DNSCryptExchangeVersionCode = 1,
): DNSCryptCertificate {
  const cert: DNSCryptCertificate = {
    version,
    minorVersion: 0,
    signature: new Uint8Array(DNSCRYPT_SIGNATURE_SIZE),
    resolverPublicKey,
    clientMagic: resolverPublicKey.subarray(0, DNSCRYPT_CLIENT_MAGIC_SIZE),
    serial,
    validFrom,
    validUntil,
  };
  const signed = encodeCertificate(cert).subarray(SIGNED_OFFSET);
  cert.signature = sodium.crypto_sign_detached(signed, providerPrivateKey);
  return cert;
}
