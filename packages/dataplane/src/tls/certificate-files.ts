/**
 * The one loader of server certificates, keys and OCSP responses, for the
 * DoT (addTLSLocal) and DoH (addDOHLocal) listeners alike, at start-up, on
 * reloadCertificates / loadNewCertificatesAndKeys and reloadAllCertificates:
 * the same checks and the same error texts whichever listener reads them.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TlsConfigError } from './tls-config-error.js';
import type { CertificateKeyPair } from './tls-server-settings.js';

/** What a secure context is made of, read from disk in one go. */
export interface LoadedCertificates {
  /** PEM chains, in the configured order (Node serves the one matching the client's key types). */
  certs: Buffer[];
  /** Their private keys (PEM), with the passphrase of an encrypted one. */
  keys: Array<{ pem: Buffer; passphrase?: string }>;
  /** DER of each chain's leaf certificate, to find the OCSP response of the one served. */
  leafDer: Buffer[];
  /** DER OCSP responses, in certificate order. */
  ocsp: Buffer[];
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsConfigError(`unable to read the ${what} '${path}': ${(err as Error).message}`, path);
  }
}

/**
 * Pair certificate files with key files given as two lists (addDOHLocal,
 * loadNewCertificatesAndKeys): one key per certificate, in the same order.
 */
export function pairCertificateFiles(certFiles: readonly string[], keyFiles: readonly string[]): CertificateKeyPair[] {
  if (certFiles.length !== keyFiles.length) {
    throw new TlsConfigError(
      `${certFiles.length} certificate file(s) but ${keyFiles.length} key file(s): give one key per certificate, in the same order`,
      { certFiles, keyFiles },
    );
  }
  return certFiles.map((certFile, i) => ({ certFile, keyFile: keyFiles[i]! }));
}

/**
 * Read every pair and OCSP response file. Throws a TlsConfigError naming
 * the file at fault: unreadable, no PEM certificate, a key file that is not
 * PEM, or two certificates with the same key type (OpenSSL serves one per
 * type: the second would silently replace the first). Whether a key matches
 * its certificate is checked when the secure context is made.
 */
export function loadCertificateFiles(pairs: readonly CertificateKeyPair[], ocspFiles: readonly string[] = []): LoadedCertificates {
  if (pairs.length === 0) throw new TlsConfigError('no certificate and key given: a TLS listener needs at least one pair', pairs);
  const out: LoadedCertificates = { certs: [], keys: [], leafDer: [], ocsp: [] };
  const types: string[] = [];
  for (const p of pairs) {
    const cert = readFile(p.certFile, 'certificate file');
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(cert);
    } catch (err) {
      throw new TlsConfigError(`the certificate file '${p.certFile}' holds no PEM certificate: ${(err as Error).message}`, p.certFile);
    }
    const type = leaf.publicKey.asymmetricKeyType ?? 'unknown';
    const same = types.indexOf(type);
    if (same >= 0) {
      throw new TlsConfigError(
        `the certificates '${pairs[same]!.certFile}' and '${p.certFile}' both have ${type} keys: one certificate per key type (RSA, ECDSA, Ed25519) can be served, give one pair per type`,
        p.certFile,
      );
    }
    types.push(type);
    const key = readFile(p.keyFile, 'key file');
    if (!key.includes('-----BEGIN')) {
      throw new TlsConfigError(`the key file '${p.keyFile}' holds no PEM private key (no '-----BEGIN' line)`, p.keyFile);
    }
    out.certs.push(cert);
    out.leafDer.push(leaf.raw);
    out.keys.push(p.password !== undefined ? { pem: key, passphrase: p.password } : { pem: key });
  }
  for (const f of ocspFiles) out.ocsp.push(readFile(f, 'OCSP response file'));
  return out;
}
