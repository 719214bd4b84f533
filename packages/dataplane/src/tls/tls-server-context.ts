import { constants as cryptoConstants } from 'node:crypto';
import tls from 'node:tls';
import { loadCertificateFiles } from './certificate-files.js';
import { installTicketKeyCallback } from './ticket-key-callback.js';
import { TicketKeyRing } from './ticket-key-ring.js';
import { TlsConfigError } from './tls-config-error.js';
import { MIN_TLS_VERSIONS, type CertificateKeyPair, type TlsServerSettings } from './tls-server-settings.js';

/** Node's default TLS 1.3 suites and TLS <= 1.2 ciphers, to fill in the half a configuration leaves out. */
const DEFAULT_SUITES = tls.DEFAULT_CIPHERS.split(':').filter((c) => c.startsWith('TLS_'));
const DEFAULT_CIPHERS = tls.DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_'));

/** The `ciphers` string Node wants: TLS 1.3 suites and older ciphers together, defaults for the half not given. */
function cipherString(ciphers: string, suites: string): string | undefined {
  if (ciphers === '' && suites === '') return undefined;
  // Node turns TLS 1.3 off when the list names no TLS 1.3 suite (and 1.2 off when it names nothing else).
  return [suites !== '' ? suites : DEFAULT_SUITES.join(':'), ciphers !== '' ? ciphers : DEFAULT_CIPHERS.join(':')].join(':');
}

/**
 * One server-side TLS context: dnsdist's TLSCtx/TLSFrontend state of a DoT
 * (and later DoH) listener. It owns the certificates (reloadable), the
 * session ticket keys (rotated by time or by hand) and the OCSP responses to
 * staple; each new connection takes `secureContext` as it is at accept time,
 * so a reload never disturbs connections already open.
 */
export class TlsServerContext {
  #settings: TlsServerSettings;
  #secure: tls.SecureContext;
  #leafs: Buffer[] = [];
  #ocsp: Buffer[] = [];
  readonly ticketKeys: TicketKeyRing;
  /** Epoch milliseconds of the next automatic ticket key rotation; 0 = none. */
  nextRotationAt = 0;
  /** A data-plane worker's context: its ticket keys are the control plane's, which rotates them (workers/worker-keys.ts). */
  #followed = false;

  constructor(settings: TlsServerSettings) {
    this.#settings = settings;
    this.ticketKeys = new TicketKeyRing(settings.sessionTickets ? settings.numberOfTicketsKeys : 0);
    this.#rotateKeys();
    this.#secure = this.#build();
  }

  get settings(): Readonly<TlsServerSettings> {
    return this.#settings;
  }

  /** The context new connections use. */
  get secureContext(): tls.SecureContext {
    return this.#secure;
  }

  /** What a TLS context runs on: OpenSSL through Node, whatever `provider` asked for. */
  get effectiveProvider(): string {
    return this.#settings.provider;
  }

  #build(): tls.SecureContext {
    const s = this.#settings;
    const creds = loadCertificateFiles(s.pairs, s.ocspResponseFiles);
    let ctx: tls.SecureContext;
    try {
      const ciphers = cipherString(s.ciphers, s.ciphersTLS13);
      ctx = tls.createSecureContext({
        cert: creds.certs,
        key: creds.keys,
        minVersion: MIN_TLS_VERSIONS[s.minTLSVersion],
        honorCipherOrder: s.preferServerCiphers,
        sessionTimeout: s.sessionTimeout,
        ...(ciphers !== undefined ? { ciphers } : {}),
        ...(this.ticketKeys.capacity === 0 ? { secureOptions: cryptoConstants.SSL_OP_NO_TICKET } : {}),
      });
    } catch (err) {
      const files = s.pairs.map((p) => `'${p.certFile}'/'${p.keyFile}'`).join(', ');
      throw new TlsConfigError(`unable to use the certificate and key ${files}: ${(err as Error).message}`, s.pairs);
    }
    if (this.ticketKeys.capacity > 0) installTicketKeyCallback(ctx, this.ticketKeys);
    this.#leafs = creds.leafDer;
    this.#ocsp = creds.ocsp;
    return ctx;
  }

  /** reloadCertificates(): read the same files again; on failure the old certificates stay in use. */
  reloadCertificates(): void {
    this.#secure = this.#build();
  }

  /** loadNewCertificatesAndKeys(): switch to other files; on failure nothing changes. */
  loadNewCertificatesAndKeys(pairs: CertificateKeyPair[]): void {
    const previous = this.#settings;
    this.#settings = { ...previous, pairs, ocspResponseFiles: [] };
    try {
      this.#secure = this.#build();
    } catch (err) {
      this.#settings = previous;
      throw err;
    }
  }

  /** rotateTicketsKey(): a new random key becomes active. */
  rotateTicketsKey(now = Date.now()): void {
    this.ticketKeys.rotate();
    this.#scheduleRotation(now);
  }

  /** loadTicketsKeys(file): the file's keys are added, its last one active. */
  loadTicketsKeys(file: string, now = Date.now()): void {
    this.ticketKeys.loadFile(file);
    this.#scheduleRotation(now);
  }

  #rotateKeys(now = Date.now()): void {
    if (this.ticketKeys.capacity === 0) return;
    this.ticketKeys.rotateOrReload(this.#settings.ticketKeyFile);
    this.#scheduleRotation(now);
  }

  #scheduleRotation(now: number): void {
    const delay = this.#settings.ticketsKeysRotationDelay;
    this.nextRotationAt = delay > 0 && this.ticketKeys.capacity > 0 ? now + delay * 1000 : 0;
  }

  /** The once-a-second housekeeping: rotate the ticket keys when due (reloading the key file if there is one). */
  tick(now = Date.now()): void {
    if (this.#followed) return;
    if (this.nextRotationAt !== 0 && now >= this.nextRotationAt) this.#rotateKeys(now);
  }

  /** A data-plane worker: use the control plane's ticket keys (export()'s form) and never rotate them here. */
  followTicketKeys(keys: readonly Uint8Array[]): void {
    this.#followed = true;
    this.nextRotationAt = 0;
    this.ticketKeys.replace(keys);
  }

  /** Whether the current certificates have OCSP responses to staple (ocspResponses, generateOCSPResponse). */
  get hasOcspResponses(): boolean {
    return this.#ocsp.length > 0;
  }

  /** The OCSP response to staple for the certificate served (DER), if one was configured for it. */
  ocspResponseFor(certificateDer: Buffer | null | undefined): Buffer | undefined {
    if (this.#ocsp.length === 0) return undefined;
    if (certificateDer) {
      const i = this.#leafs.findIndex((l) => l.equals(certificateDer));
      if (i >= 0) return this.#ocsp[i];
    }
    return this.#ocsp[0];
  }
}
