/** A certificate (chain) file and the file of its private key, as addTLSLocal pairs them. */
export interface CertificateKeyPair {
  certFile: string;
  keyFile: string;
  /** Passphrase of an encrypted key (1.7's table form `{certFile=…, keyFile=…, password=…}` is not here: files only). */
  password?: string;
}

/** dnsdist's minTLSVersion values. */
export type MinTlsVersion = 'tls1.0' | 'tls1.1' | 'tls1.2' | 'tls1.3';

export const MIN_TLS_VERSIONS: Record<MinTlsVersion, 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'> = {
  'tls1.0': 'TLSv1',
  'tls1.1': 'TLSv1.1',
  'tls1.2': 'TLSv1.2',
  'tls1.3': 'TLSv1.3',
};

/** Everything a server-side TLS context is built from (addTLSLocal's TLS options), with dnsdist 1.7's defaults. */
export interface TlsServerSettings {
  pairs: CertificateKeyPair[];
  /** DER OCSP response files, in the order of `pairs` (ocspResponses). */
  ocspResponseFiles: string[];
  minTLSVersion: MinTlsVersion;
  /** OpenSSL cipher list for TLS <= 1.2; "" = OpenSSL's default. */
  ciphers: string;
  /** TLS 1.3 cipher suites; "" = OpenSSL's default. */
  ciphersTLS13: string;
  numberOfTicketsKeys: number;
  /** Ticket keys are loaded from this file at start and at each rotation; "" = random keys. */
  ticketKeyFile: string;
  /** Seconds between automatic ticket key rotations; 0 = never. */
  ticketsKeysRotationDelay: number;
  sessionTickets: boolean;
  /** Seconds a session (ticket) stays valid. */
  sessionTimeout: number;
  preferServerCiphers: boolean;
  /** NSS key log lines of every connection are appended here (debugging); "" = none. */
  keyLogFile: string;
  /** The provider asked for; OpenSSL (Node's) is what runs, whatever the name. */
  provider: 'openssl' | 'gnutls';
}

export function defaultTlsServerSettings(pairs: CertificateKeyPair[]): TlsServerSettings {
  return {
    pairs,
    ocspResponseFiles: [],
    minTLSVersion: 'tls1.0',
    ciphers: '',
    ciphersTLS13: '',
    numberOfTicketsKeys: 5,
    ticketKeyFile: '',
    ticketsKeysRotationDelay: 43200,
    sessionTickets: true,
    sessionTimeout: 7200,
    preferServerCiphers: true,
    keyLogFile: '',
    provider: 'openssl',
  };
}
