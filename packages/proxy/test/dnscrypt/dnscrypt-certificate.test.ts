import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sodium from 'libsodium-wrappers';
import { describeDnsdist, dnsdistCheckConfig } from '../../../../test/support/dnsdist.js';
import {
  DNSCRYPT_CERT_SIZE,
  decodeCertificate,
  encodeCertificate,
  generateCertificate,
  resolverPublicKeyOf,
  signCertificate,
  sodiumReady,
  verifyCertificate,
} from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-certificate.js';
import { loadCertificatePair } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-context.js';
import { generateProviderKeys, providerFingerprint } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-provider-keys.js';
import { DNSCryptError } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-errors.js';

let dir: string;
beforeAll(async () => {
  await sodiumReady();
  dir = mkdtempSync(join(tmpdir(), 'dts-dnscrypt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DNSCrypt certificates and provider keys', () => {
  test('a certificate is 124 bytes: DNSC, version, minor, signature, then the signed resolver key, magic, serial and window', () => {
    const provider = sodium.crypto_sign_keypair();
    const { cert, keys } = generateCertificate(provider.privateKey, 0x01020304, 0x05060708, 0x090a0b0c, 2);
    const wire = encodeCertificate(cert);
    expect(wire.length).toBe(DNSCRYPT_CERT_SIZE);
    expect(wire.subarray(0, 8)).toEqual(Buffer.from([0x44, 0x4e, 0x53, 0x43, 0, 2, 0, 0]));
    expect(wire.subarray(72, 104)).toEqual(Buffer.from(keys.publicKey));
    // The client magic is the resolver public key's first 8 bytes.
    expect(wire.subarray(104, 112)).toEqual(Buffer.from(keys.publicKey.subarray(0, 8)));
    expect(wire.subarray(112)).toEqual(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    expect(sodium.crypto_sign_verify_detached(wire.subarray(8, 72), wire.subarray(72), provider.publicKey)).toBe(true);
    expect(verifyCertificate(decodeCertificate(wire), provider.publicKey)).toBe(true);
    expect(Buffer.from(resolverPublicKeyOf(keys.privateKey))).toEqual(Buffer.from(keys.publicKey));
  });

  test('a tampered certificate does not verify; a short or foreign file is refused by name', () => {
    const provider = sodium.crypto_sign_keypair();
    const wire = encodeCertificate(generateCertificate(provider.privateKey, 1, 2, 3).cert);
    wire[115] = wire[115]! ^ 1;
    expect(verifyCertificate(decodeCertificate(wire), provider.publicKey)).toBe(false);
    expect(() => decodeCertificate(wire.subarray(0, 100), 'x.cert')).toThrow(/x.cert: a DNSCrypt certificate is 124 bytes, got 100/);
    const foreign = Buffer.from(wire);
    foreign.write('XXXX', 0);
    expect(() => decodeCertificate(foreign)).toThrow(DNSCryptError);
  });

  test('provider key files are the raw 32-byte public and 64-byte secret keys, the secret one private to its owner', () => {
    const pub = join(dir, 'ours.pub');
    const key = join(dir, 'ours.key');
    const kp = generateProviderKeys(pub, key);
    expect(readFileSync(pub)).toEqual(Buffer.from(kp.publicKey));
    expect(readFileSync(key)).toEqual(Buffer.from(kp.privateKey));
    expect(statSync(key).mode & 0o777).toBe(0o600);
  });

  test('the fingerprint is the public key in upper-case hex, 2 bytes a group', () => {
    const key = Buffer.from('e1d721089a59bf8df10116faed5eea6a9f6cc78f7f91af6b027e62f469c3b1aa', 'hex');
    // The value test_DNSCrypt.py configures its client with for this key.
    expect(providerFingerprint(key)).toBe('E1D7:2108:9A59:BF8D:F101:16FA:ED5E:EA6A:9F6C:C78F:7F91:AF6B:027E:62F4:69C3:B1AA');
  });
});

describeDnsdist('DNSCrypt files against dnsdist 1.7.3', () => {
  test("dnsdist's provider keys and certificates read back, verify and pair with their resolver key", () => {
    const f = (n: string): string => join(dir, n);
    const r = dnsdistCheckConfig(`
      generateDNSCryptProviderKeys("${f('d.pub')}", "${f('d.key')}")
      generateDNSCryptCertificate("${f('d.key')}", "${f('d1.cert')}", "${f('d1.key')}", 42, 1600000000, 1900000000)
      generateDNSCryptCertificate("${f('d.key')}", "${f('d2.cert')}", "${f('d2.key')}", 43, 1600000001, 1900000001, DNSCryptExchangeVersion.VERSION2)
    `);
    expect(r.status).toBe(0);
    const providerPub = readFileSync(f('d.pub'));
    const providerKey = readFileSync(f('d.key'));
    expect(providerPub.length).toBe(32);
    expect(providerKey.subarray(32)).toEqual(providerPub);
    const v1 = loadCertificatePair(f('d1.cert'), f('d1.key'));
    expect(v1.cert).toMatchObject({ version: 1, minorVersion: 0, serial: 42, validFrom: 1600000000, validUntil: 1900000000 });
    expect(verifyCertificate(v1.cert, providerPub)).toBe(true);
    const v2 = loadCertificatePair(f('d2.cert'), f('d2.key'));
    expect(v2.cert).toMatchObject({ version: 2, serial: 43 });
    expect(verifyCertificate(v2.cert, providerPub)).toBe(true);
    // Ed25519 is deterministic: ours, signed with dnsdist's provider key over the same fields, is byte-identical.
    const ours = signCertificate(providerKey, v1.cert.resolverPublicKey, 42, 1600000000, 1900000000, 1);
    expect(encodeCertificate(ours)).toEqual(readFileSync(f('d1.cert')));
    expect(encodeCertificate(signCertificate(providerKey, v2.cert.resolverPublicKey, 43, 1600000001, 1900000001, 2))).toEqual(
      readFileSync(f('d2.cert')),
    );
    expect(() => loadCertificatePair(f('d1.cert'), f('d2.key'))).toThrow(/does not belong to the certificate/);
  });
});
