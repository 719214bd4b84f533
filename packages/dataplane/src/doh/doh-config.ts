/** TLS settings of a DoH frontend that Node's TLS can apply (addDOHLocal's TLS options). */
export interface DohTlsSettings {
  /** OpenSSL cipher list for TLS <= 1.2 (`ciphers`); undefined: Node's default list. */
  ciphers: string | undefined;
  /** TLS 1.3 cipher suites (`ciphersTLS13`), colon-separated. */
  ciphersTLS13: string | undefined;
  /** Lowest protocol version accepted (`minTLSVersion`), as Node names it. */
  minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** `sessionTickets`: resumption with tickets. */
  sessionTickets: boolean;
  /** `numberOfTicketsKeys`: ticket keys kept, the newest encrypting, all decrypting. */
  numberOfTicketsKeys: number;
  /** `ticketKeyFile`: keys in dnsdist's format (80 bytes each), all added, the last one active. */
  ticketKeyFile: string | undefined;
  /** `ticketsKeysRotationDelay` in seconds; 0: no automatic rotation. */
  ticketsKeysRotationDelay: number;
  /** `sessionTimeout` in seconds (ticket and session-cache lifetime). */
  sessionTimeout: number;
  /** `preferServerCiphers`. */
  preferServerCiphers: boolean;
  /** `keyLogFile`: TLS secrets are appended there in the NSS key log format. */
  keyLogFile: string | undefined;
  /** `ocspResponses`: files holding DER OCSP responses, in the order of the certificates. */
  ocspResponseFiles: string[];
  /** `enableRenegotiation`. */
  enableRenegotiation: boolean;
}

/** One `addDOHLocal` frontend as configured. */
export interface DohFrontendConfig {
  host: string;
  port: number;
  /** Certificate files (PEM), paired with `keyFiles`; both empty: DNS over plain HTTP. */
  certFiles: string[];
  keyFiles: string[];
  /** The paths served (dnsdist's `urls`), "/dns-query" by default. */
  urls: string[];
  reusePort: boolean;
  tcpListenQueueSize: number;
  /** TCP_FASTOPEN queue size of the listener (`tcpFastOpenQueueSize`); 0 = off. */
  tcpFastOpenQueueSize: number;
  /** Concurrent TCP connections accepted; 0 = unlimited. */
  maxConcurrentTCPConnections: number;
  /** Seconds an HTTP connection may sit idle (`idleTimeout`). */
  idleTimeoutSeconds: number;
  /** The Server header (`serverTokens`). */
  serverTokens: string;
  /** `customResponseHeaders`, names lower-cased as dnsdist does. */
  customResponseHeaders: Array<[string, string]>;
  sendCacheControlHeaders: boolean;
  trustForwardedForHeader: boolean;
  exactPathMatching: boolean;
  tls: DohTlsSettings;
  /** What asked for this listener, for bind errors: `addDOHLocal("127.0.0.1:443")`. */
  requestedBy: string;
}

/** dnsdist's default DoH path since 1.5.0. */
export const DEFAULT_DOH_URL = '/dns-query';

/** The Server header dnsdist-ts sends unless `serverTokens` says otherwise. */
export const DEFAULT_SERVER_TOKENS = 'dnsdist-ts';
