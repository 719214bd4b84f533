import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { TlsConfigError } from './tls-config-error.js';

/** newServer's TLS options (dnsdist 1.7's outgoing DoT), with its defaults. */
export interface TlsClientSettings {
  /** The provider asked for (`tls="openssl"` or "gnutls"); OpenSSL through Node runs either way. */
  provider: 'openssl' | 'gnutls';
  /** The name the backend's certificate must carry, also sent as SNI; "" = none. */
  subjectName: string;
  /** An address the certificate must carry (IP subjectAltName) when there is no subjectName; "" = none. */
  subjectAddr: string;
  /** PEM file of the CAs to trust; "" = the system's. */
  caStore: string;
  validateCertificates: boolean;
  ciphers: string;
  ciphersTLS13: string;
}

export function defaultTlsClientSettings(provider: 'openssl' | 'gnutls'): TlsClientSettings {
  return { provider, subjectName: '', subjectAddr: '', caStore: '', validateCertificates: true, ciphers: '', ciphersTLS13: '' };
}

const DEFAULT_SUITES = tls.DEFAULT_CIPHERS.split(':').filter((c) => c.startsWith('TLS_'));
const DEFAULT_CIPHERS = tls.DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_'));

/**
 * The client side of a TLS backend: one secure context (trusted CAs,
 * ciphers), certificate checks that fail closed, and the last session the
 * backend gave us, offered again on the next connection (resumption).
 */
export class TlsClientContext {
  readonly settings: Readonly<TlsClientSettings>;
  readonly #secure: tls.SecureContext;
  #session: Buffer | undefined;

  constructor(settings: TlsClientSettings) {
    this.settings = settings;
    let ca: Buffer | undefined;
    if (settings.caStore !== '') {
      try {
        ca = readFileSync(settings.caStore);
      } catch (err) {
        throw new TlsConfigError(`unable to read the CA store '${settings.caStore}': ${(err as Error).message}`, settings.caStore);
      }
    }
    const ciphers =
      settings.ciphers === '' && settings.ciphersTLS13 === ''
        ? undefined
        : [settings.ciphersTLS13 || DEFAULT_SUITES.join(':'), settings.ciphers || DEFAULT_CIPHERS.join(':')].join(':');
    try {
      this.#secure = tls.createSecureContext({ ...(ca ? { ca } : {}), ...(ciphers !== undefined ? { ciphers } : {}) });
    } catch (err) {
      throw new TlsConfigError(`unusable TLS settings for the backend: ${(err as Error).message}`, settings);
    }
  }

  /** Connection options for a backend at host:port (the caller adds onread and the like). */
  connectOptions(host: string): tls.ConnectionOptions {
    const s = this.settings;
    const expected = s.subjectName !== '' ? s.subjectName : s.subjectAddr !== '' ? s.subjectAddr : host;
    return {
      host,
      secureContext: this.#secure,
      // SNI carries names only.
      ...(s.subjectName !== '' && isIP(s.subjectName) === 0 ? { servername: s.subjectName } : {}),
      rejectUnauthorized: s.validateCertificates,
      checkServerIdentity: (_host, cert) => (s.validateCertificates ? tls.checkServerIdentity(expected, cert) : undefined),
      ...(this.#session ? { session: this.#session } : {}),
    };
  }

  /** Keep the session a backend connection gave us, for the next one. */
  rememberSession(session: Buffer): void {
    this.#session = session;
  }

  /** Why a connection failed, in words for the log. */
  describeFailure(err: NodeJS.ErrnoException): string {
    const code = err.code ?? '';
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
      return `certificate validation failed (${err.message})`;
    }
    return err.message;
  }
}
