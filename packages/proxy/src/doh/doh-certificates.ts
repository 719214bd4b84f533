import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';

/**
 * Certificate loading for the DoH frontends, kept apart from the HTTP code
 * so that it can later be shared with the DoT frontends.
 */

/** A certificate or key file that cannot be used: names the file and the reason. */
export class CertificateLoadError extends Error {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`could not load '${file}': ${reason}`);
    this.name = 'CertificateLoadError';
    this.file = file;
  }
}

/** PEM certificate chains and their keys, in the configured order (Node picks per client). */
export interface CertificatePairs {
  certs: Buffer[];
  keys: Buffer[];
  /** DER of each chain's leaf certificate, to match OCSP responses to certificates. */
  leafDer: Buffer[];
}

function readPem(file: string, what: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    throw new CertificateLoadError(file, (err as Error).message);
  }
  if (!data.includes('-----BEGIN')) throw new CertificateLoadError(file, `not a PEM ${what} (no '-----BEGIN' line)`);
  return data;
}

/**
 * Read `certFiles[i]` with `keyFiles[i]`. Both lists must be the same
 * length; each certificate must parse. Whether a key matches its
 * certificate is checked when the TLS context is made.
 */
export function loadCertificatePairs(certFiles: readonly string[], keyFiles: readonly string[]): CertificatePairs {
  if (certFiles.length !== keyFiles.length) {
    throw new Error(`${certFiles.length} certificate file(s) but ${keyFiles.length} key file(s): give one key per certificate`);
  }
  const out: CertificatePairs = { certs: [], keys: [], leafDer: [] };
  for (let i = 0; i < certFiles.length; i++) {
    const cert = readPem(certFiles[i]!, 'certificate');
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(cert);
    } catch (err) {
      throw new CertificateLoadError(certFiles[i]!, `not a valid certificate: ${(err as Error).message}`);
    }
    out.certs.push(cert);
    out.leafDer.push(leaf.raw);
    out.keys.push(readPem(keyFiles[i]!, 'private key'));
  }
  return out;
}

/** OCSP responses (DER files) in certificate order; a missing file is an error. */
export function loadOcspResponses(files: readonly string[]): Buffer[] {
  return files.map((file) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new CertificateLoadError(file, (err as Error).message);
    }
  });
}
