/**
 * One addDNSCryptBind's provider: its name and its resolver certificates
 * with their private keys (getDNSCryptBind(n) gives it to the console).
 */
import { DNSCryptError } from './dnscrypt-errors.js';
import {
  DNSCRYPT_CERT_SIZE,
  decodeCertificate,
  encodeCertificate,
  generateCertificate,
  resolverPublicKeyOf,
  type DNSCryptCertificate,
  type DNSCryptExchangeVersionCode,
} from './dnscrypt-certificate.js';
import { PROVIDER_PRIVATE_KEY_SIZE, readExactFile } from './dnscrypt-provider-keys.js';

export const RESOLVER_PRIVATE_KEY_SIZE = 32;

/** A resolver certificate, its private key, and whether it is offered and accepted. */
export class DNSCryptCertificatePair {
  active = true;
  readonly wire: Buffer;
  constructor(
    readonly cert: DNSCryptCertificate,
    readonly privateKey: Uint8Array,
  ) {
    this.wire = encodeCertificate(cert);
  }
}

/** Read a certificate file and its resolver private key file; the key must match the certificate. */
export function loadCertificatePair(certFile: string, keyFile: string): DNSCryptCertificatePair {
  const cert = decodeCertificate(readExactFile(certFile, DNSCRYPT_CERT_SIZE, 'certificate'), certFile);
  const key = Uint8Array.from(readExactFile(keyFile, RESOLVER_PRIVATE_KEY_SIZE, 'resolver private key'));
  if (!Buffer.from(resolverPublicKeyOf(key)).equals(Buffer.from(cert.resolverPublicKey)))
    throw new DNSCryptError(`the DNSCrypt private key '${keyFile}' does not belong to the certificate '${certFile}'`, keyFile);
  return new DNSCryptCertificatePair(cert, key);
}

/** A certificate file and its resolver key file, as given to addDNSCryptBind or loadNewCertificate. */
export interface DNSCryptCertificateFiles {
  certFile: string;
  keyFile: string;
}

export class DNSCryptContext {
  readonly pairs: DNSCryptCertificatePair[] = [];
  /** providerName in wire-comparable form: lower case, with the final dot. */
  readonly providerKey: string;
  /** Every pair of files loaded so far: what reloadCertificates reads again. */
  readonly #files: DNSCryptCertificateFiles[];
  /**
   * Told after every change of the certificates (loaded, generated, marked,
   * removed, reloaded): with data-plane workers, the control plane sends
   * them the new set (workers/worker-keys.ts).
   */
  onChange: (() => void) | undefined;

  constructor(
    readonly providerName: string,
    pairs: DNSCryptCertificatePair[],
    files: readonly DNSCryptCertificateFiles[] = [],
  ) {
    this.providerKey = canonicalName(providerName);
    this.#files = [...files];
    for (const p of pairs) this.addPair(p);
  }

  /**
   * reloadAllCertificates(), as dnsdist's DNSCrypt contexts do it: every
   * certificate file loaded so far (addDNSCryptBind's, loadNewCertificate's)
   * is read again and the set replaced by them, all active; certificates
   * made in memory are dropped. A file that cannot be read changes nothing.
   */
  reloadCertificates(): void {
    const fresh = this.#files.map((f) => loadCertificatePair(f.certFile, f.keyFile));
    this.pairs.length = 0;
    this.pairs.push(...fresh);
    this.onChange?.();
  }

  /** A data-plane worker takes the control plane's certificates and keys in place of its own. */
  replacePairs(pairs: readonly DNSCryptCertificatePair[]): void {
    this.pairs.length = 0;
    this.pairs.push(...pairs);
  }

  /** addNewCertificate / loadNewCertificate: a pair with an already-present serial is refused. */
  addPair(pair: DNSCryptCertificatePair, active = true): void {
    if (this.pairs.some((p) => p.cert.serial === pair.cert.serial))
      throw new DNSCryptError(`a DNSCrypt certificate with serial ${pair.cert.serial} is already loaded`, String(pair.cert.serial));
    pair.active = active;
    this.pairs.push(pair);
    this.onChange?.();
  }

  /** loadNewCertificate(certFile, keyFile[, active[, reload]]). */
  loadNewCertificate(certFile: string, keyFile: string, active = true, reload = false): void {
    const pair = loadCertificatePair(certFile, keyFile);
    if (reload) this.#remove(pair.cert.serial);
    this.addPair(pair, active);
    this.#files.push({ certFile, keyFile });
  }

  /** generateAndLoadInMemoryCertificate(providerKeyFile, serial, begin, end[, version]). */
  generateAndLoadInMemoryCertificate(
    providerKeyFile: string,
    serial: number,
    begin: number,
    end: number,
    version: DNSCryptExchangeVersionCode = 1,
  ): void {
    const providerKey = readExactFile(providerKeyFile, PROVIDER_PRIVATE_KEY_SIZE, 'provider private key');
    const { cert, keys } = generateCertificate(providerKey, serial, begin, end, version);
    this.addPair(new DNSCryptCertificatePair(cert, keys.privateKey));
  }

  #find(serial: number): DNSCryptCertificatePair {
    const p = this.pairs.find((x) => x.cert.serial === serial);
    if (p === undefined) throw new DNSCryptError(`no DNSCrypt certificate with serial ${serial}`, String(serial));
    return p;
  }

  #remove(serial: number): void {
    const i = this.pairs.findIndex((x) => x.cert.serial === serial);
    if (i >= 0) this.pairs.splice(i, 1);
  }

  markActive(serial: number): void {
    this.#find(serial).active = true;
    this.onChange?.();
  }

  markInactive(serial: number): void {
    this.#find(serial).active = false;
    this.onChange?.();
  }

  /** removeInactiveCertificate: only an inactive certificate may be removed. */
  removeInactiveCertificate(serial: number): void {
    const p = this.#find(serial);
    if (p.active)
      throw new DNSCryptError(`the DNSCrypt certificate with serial ${serial} is active: markInactive(${serial}) first`, String(serial));
    this.#remove(serial);
    this.onChange?.();
  }

  /**
   * The pair whose client magic starts this query, if any. Inactive pairs
   * still open queries (clients keep the certificate they fetched until it
   * expires): inactive only means no longer offered in the TXT answer.
   */
  pairForMagic(packet: Uint8Array): DNSCryptCertificatePair | undefined {
    for (const p of this.pairs) {
      const m = p.cert.clientMagic;
      let same = true;
      for (let i = 0; i < 8; i++) if (packet[i] !== m[i]) same = false;
      if (same) return p;
    }
    return undefined;
  }
}

/** A name lower-cased with its final dot, for comparisons. */
export function canonicalName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}
