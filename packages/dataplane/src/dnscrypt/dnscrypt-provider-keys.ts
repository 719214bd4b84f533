/**
 * The provider's long-term Ed25519 key pair and its files, as dnsdist
 * writes them: the raw 32-byte public key and the raw 64-byte secret key
 * (libsodium's seed followed by the public key).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { sodium } from './dnscrypt-sodium.js';
import { DNSCryptError } from './dnscrypt-errors.js';

export const PROVIDER_PUBLIC_KEY_SIZE = 32;
export const PROVIDER_PRIVATE_KEY_SIZE = 64;

/** generateDNSCryptProviderKeys: a new key pair written to both files (the private one readable by its owner only). */
export function generateProviderKeys(publicKeyFile: string, privateKeyFile: string): { publicKey: Uint8Array; privateKey: Uint8Array } {
  const kp = sodium.crypto_sign_keypair();
  writeKeyFile(publicKeyFile, kp.publicKey, 0o644);
  writeKeyFile(privateKeyFile, kp.privateKey, 0o600);
  return { publicKey: kp.publicKey, privateKey: kp.privateKey };
}

/** The provider fingerprint as dnscrypt clients are configured with it: hex, upper case, 2 bytes per group, ':'-separated. */
export function providerFingerprint(publicKey: Uint8Array): string {
  const hex = Buffer.from(publicKey).toString('hex').toUpperCase();
  return hex.match(/.{1,4}/g)!.join(':');
}

/** Read a key or certificate file of an exact size. */
export function readExactFile(path: string, size: number, what: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw new DNSCryptError(`could not read the DNSCrypt ${what} '${path}': ${(err as Error).message}`, path);
  }
  if (data.length !== size)
    throw new DNSCryptError(`the DNSCrypt ${what} '${path}' should be ${size} bytes, it is ${data.length}: is it the right file?`, path);
  return data;
}

/** Write a key or certificate file. */
export function writeKeyFile(path: string, data: Uint8Array, mode: number): void {
  try {
    writeFileSync(path, data, { mode });
  } catch (err) {
    throw new DNSCryptError(`could not write the DNSCrypt file '${path}': ${(err as Error).message}`, path);
  }
}
